"""Paired deraining sets (``trials.data.derain`` finds and pairs their files): Rain100L, Rain100H, Rain12,
Rain1400 (DDN) and Rain800 (ID-CGAN's side-by-side pairs, with the order of the halves as its option).
They load at scale 1: clean ``images``, rainy ``lr[1]``."""

from collections.abc import Sequence
from pathlib import Path

from trials.data.derain import (
    DERAIN_LAYOUTS,
    PAIR_ORDERS,
    DerainFiles,
    derain_error,
    derain_splits,
    file_sizes,
    find_derain_files,
    read_derain_set,
    size_problems,
)
from trials.data.errors import DataError
from trials.data.images import ImageSet
from trials.data.kinds.base import DATA_KINDS, SEARCH, TEST, DataKind, KindOption, LoadOptions, checked_size, required
from trials.data.readers import size_range

PAIR_ORDER = "pair_order"  # rain800's option: the halves of a file, left to right


class RainKind(DataKind):
    splits = (SEARCH, TEST)
    side_by_side = False

    @property
    def layout(self) -> str:
        return DERAIN_LAYOUTS[self.name]

    def error(self, folder: Path, problem: str) -> DataError:
        return derain_error(folder, self.name, problem)

    def read(self, root: Path | None, split: str, opts: LoadOptions) -> ImageSet:
        self._only_scale_one(root, opts.scales)
        files = find_derain_files(self.name, required(root, self), split)
        image_set = read_derain_set(files, color=opts.color, order=self._order(opts))
        return checked_size(image_set, [rainy for rainy, _ in files.pairs], opts.min_size, self)

    def count(self, root: Path | None, split: str) -> int:
        return len(find_derain_files(self.name, required(root, self), split).pairs)

    def check(self, root: Path | None, scales: Sequence[int] | None, opts: LoadOptions) -> str:
        root = required(root, self)
        self._only_scale_one(root, scales or ())
        self._order(opts)
        lines, problems = [f"{self.name} at {root}"], []
        for split in derain_splits(self.name, root):
            files = find_derain_files(self.name, root, split)
            shapes, bad = file_sizes(files, decode=True)
            problems += files.problems + bad + size_problems(files, shapes)
            lines += self._lines(files, shapes, split)
        if problems:
            raise DataError(f"{root}: {len(problems)} problem(s); fix or remove these files: " + "; ".join(problems))
        return "\n".join(lines)

    def _only_scale_one(self, root: Path | None, scales: Sequence[int]) -> None:
        if any(s != 1 for s in scales):
            raise DataError(f"{root}: {self.name} is a deraining set, its pairs are at scale 1 only; scales "
                            f"{tuple(scales)} were asked for: drop the SR scales for this task")

    def _order(self, opts: LoadOptions) -> str:
        order = opts.options.get(PAIR_ORDER, PAIR_ORDERS[0])
        if order not in PAIR_ORDERS:
            raise DataError(f"pair order {order!r} is not one of {', '.join(PAIR_ORDERS)}; fix "
                            f"data.options.{PAIR_ORDER}")
        return order

    def _lines(self, files: DerainFiles, shapes: dict[Path, tuple[int, ...]], split: str | None) -> list[str]:
        where = "" if files.folder == files.root else f" ({files.folder.name}/)"
        note = self.count_note(split or "", len(files.pairs))
        sides = [shapes[rainy] for rainy, _ in files.pairs if rainy in shapes]
        if self.side_by_side:
            halves = [(s[0], s[1] // 2, *s[2:]) for s in sides]
            lines = [f"  {split or 'pairs'}{where}: {len(files.pairs)} side-by-side pairs{note}, each half "
                     f"{size_range(halves)}"]
        else:
            cleans = len({clean for _, clean in files.pairs})
            lines = [f"  {split or 'pairs'}{where}: {len(files.pairs)} rainy image(s){note} of {cleans} clean "
                     f"images, {size_range(sides)}"]
        if files.unpaired_clean:
            names = ", ".join(p.name for p in files.unpaired_clean[:5]) + (", ..." if len(files.unpaired_clean) > 5
                                                                           else "")
            lines.append(f"  {len(files.unpaired_clean)} clean image(s) without a rainy one, not used: {names}")
        return lines

    def count_note(self, split: str, count: int) -> str:
        """Published pair counts, training and test folders alike (RainTrainH: 1254 after PReNet's exclusion)."""
        expected = self.expected_counts.get("pairs", ())
        return "" if count in expected else f" (the published sets have {' or '.join(map(str, expected))})"


def _rain(name: str, label: str, counts: tuple[int, ...], *folders: str, **extra) -> type[RainKind]:
    attributes = {"name": name, "label": label, "folder_names": folders or (label,),
                  "expected_counts": {"pairs": counts}, **extra}
    return DATA_KINDS.register(type(label, (RainKind,), attributes))


Rain100L = _rain("rain100l", "Rain100L", (200, 100))
Rain100H = _rain("rain100h", "Rain100H", (1254, 1800, 100))
Rain12 = _rain("rain12", "Rain12", (12,), "Rain12", "test12", splits=(TEST,))  # 12 test images only
Rain1400 = _rain("rain1400", "Rain1400", (12600, 1400))
Rain800 = _rain("rain800", "Rain800", (700, 100), side_by_side=True, options={PAIR_ORDER: KindOption(
    PAIR_ORDERS[0], PAIR_ORDERS, "the halves of a file left to right: gt,lq (clean left) or lq,gt")})
