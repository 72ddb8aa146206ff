"""``check_folder``: what a data folder holds, or a DataError saying what is wrong, before anything trains."""

from pathlib import Path

from trials.data.builtin import builtin_set
from trials.data.errors import DataError
from trials.data.images import ImageSet
from trials.data.readers import LAYOUTS, decode, find_files

DATASET_KINDS = tuple(LAYOUTS)
EXPECTED_COUNTS = {"bsd500": {"search": 300, "test": 200}, "div2k": {"search": 800}, "set5": {"test": 5}}
EXPECTED_COUNTS |= {"set14": {"test": 14}, "bsd100": {"test": 100}, "urban100": {"test": 100}}
EXPECTED_COUNTS |= {"manga109": {"test": 109}}


def check_folder(path: Path | str | None, kind: str) -> str:
    """Decode every image (one at a time, nothing kept) and report counts, sizes and LR scales found; a
    DataError naming every file that cannot be decoded, not just the first."""
    if kind == "builtin":
        return "\n".join(["builtin: scikit-image sample photographs (no folder)"] + _builtin_lines())
    found = find_files(kind, Path(path))
    bad: list[str] = []
    lines = [f"{kind} at {found.root}"]
    for split, files in found.splits.items():
        lines.append(_split_line(split, _shapes(files, kind, bad), kind))
    for scale, files in found.lr.items():
        lines.append(f"  LR x{scale}: {len(files)} files, {_size_range(_shapes(files, kind, bad))}")
    if bad:
        raise DataError(f"{found.root}: {len(bad)} image(s) cannot be decoded; replace or delete them: "
                        + "; ".join(bad))
    if not found.lr and kind != "bsd500":
        lines.append("  LR: none on disk; made by bicubic downsampling")
    return "\n".join(lines)


def _shapes(files: list[Path], kind: str, bad: list[str]) -> list[tuple[int, ...]]:
    """Shapes of the files that decode; one line per file that does not goes to ``bad``."""
    shapes = []
    for path in files:
        try:
            shapes.append(decode(path, kind, color=None).shape)
        except DataError as err:
            bad.append(f"{path.name} ({str(err.__cause__ or err)[:120]})")
    return shapes


def _builtin_lines() -> list[str]:
    sets = {
        f"{split} ({'colour' if color else 'gray'})": builtin_set(split, color)
        for split in ("search", "test")
        for color in (True, False)
    }
    return [
        _split_line(label, [img.shape for img in s.images], "builtin") + _names(s)
        for label, s in sets.items()
    ]


def _names(image_set: ImageSet) -> str:
    return ": " + ", ".join(image_set.names)


def _split_line(split: str, shapes: list[tuple[int, ...]], kind: str) -> str:
    expected = EXPECTED_COUNTS.get(kind, {}).get(split)
    note = f" (the paper's set has {expected})" if expected and expected != len(shapes) else ""
    return f"  {split}: {len(shapes)} images{note}, {_size_range(shapes)}"


def _size_range(shapes: list[tuple[int, ...]]) -> str:
    if not shapes:
        return "no readable files"
    heights, widths = [s[0] for s in shapes], [s[1] for s in shapes]
    channels = sorted({"gray" if s[2] == 1 else "RGB" for s in shapes})
    return (
        f"height {min(heights)}-{max(heights)}, width {min(widths)}-{max(widths)}, {'/'.join(channels)} files"
    )
