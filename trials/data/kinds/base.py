"""Data-set kinds: one registered entry per folder layout a user can point at (``DATA_KINDS``).

A kind says what it is (name, table label, the layout text errors quote, the splits it serves, its folder names
inside a ``data.test_root``, the counts of the published set, its own options) and how to read and check a
folder of it. The loaders (``trials.data.sources``), ``check_folder`` and the tables loop over this registry;
a new layout is a new module in this package plus its line in ``__init__.py``.

``FolderKind`` is the shared base of the layouts of clean/HR image files (optionally with LR files per scale):
a subclass only says where its files are (``find``).
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from search_space.registry import Registry
from trials.data.errors import DataError
from trials.data.images import ImageSet, as_color
from trials.data.readers import (
    FoundFiles,
    decode,
    indivisible_problem,
    lr_problem,
    named_folder,
    read_lr,
    shapes_of,
    size_range,
)

SEARCH, TEST = "search", "test"
REPORT_SCALES = (2, 3, 4)  # the SR scales a folder report looks at when no scales are given


@dataclass(frozen=True)
class KindOption:
    """An option of one layout (``data.options.<key>``), e.g. the order of the halves of a side-by-side pair."""

    default: str
    choices: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class LoadOptions:
    color: bool
    scales: Sequence[int] = ()
    min_size: int = 0  # the smallest side an image needs (the largest crop a trial takes)
    modcrop: bool = False  # crop HR sides to multiples of a scale without LR files instead of refusing them
    options: Mapping[str, str] = field(default_factory=dict)  # kinds' own options, by key


class DataKind(ABC):
    name: ClassVar[str]
    label: ClassVar[str]  # tables' name of its test set: "Set5", "BSD68"
    layout: ClassVar[str]  # how its folder is laid out, quoted by errors
    splits: ClassVar[tuple[str, ...]]  # SEARCH (search/train images) and/or TEST
    folder_names: ClassVar[tuple[str, ...]] = ()  # its folder's names inside a data.test_root (any case)
    set_name: ClassVar[str | None] = None  # its test set's name in metrics where not the kind's (bsd500: bsd200)
    expected_counts: ClassVar[Mapping[str, tuple[int, ...]]] = {}  # split -> image counts of the published set
    rank: ClassVar[int] = 100  # tables order test sets by rank, then by name (the SR benchmarks: 0-4)
    options: ClassVar[Mapping[str, KindOption]] = {}
    has_lr_layout: ClassVar[bool] = False  # an SR layout that may hold LR files per scale

    @property
    def test_set(self) -> str:
        return self.set_name or self.name

    @abstractmethod
    def read(self, root: Path | None, split: str, opts: LoadOptions) -> ImageSet:
        """Every image of ``split`` decoded, with the inputs the folder brings (LR files, rainy images)."""

    @abstractmethod
    def check(self, root: Path | None, scales: Sequence[int] | None, opts: LoadOptions) -> str:
        """A report of the folder (counts, sizes, scales), or a DataError naming every bad file."""

    @abstractmethod
    def count(self, root: Path | None, split: str) -> int:
        """How many images (pairs) ``split`` holds, from the file names alone (nothing decoded)."""

    def folder_in(self, test_root: str | Path | None) -> Path | None:
        """Its folder inside ``test_root`` (a folder holding one sub-folder per test set); None: it has none."""
        return named_folder(test_root, self.name, self.folder_names or (self.name,), f"laid out as {self.layout}")

    def error(self, folder: Path, problem: str) -> DataError:
        return DataError(f"{folder}: {problem}; expected a {self.name} folder laid out as {self.layout}")

    def count_note(self, split: str, count: int) -> str:
        expected = self.expected_counts.get(split, ())
        if not expected or count in expected:
            return ""
        return f" (the published set has {' or '.join(map(str, expected))})"


DATA_KINDS: Registry[DataKind] = Registry("data set kind", instantiate=True)


def set_labels() -> dict[str, str]:
    """Test-set name in metrics -> its label in tables ('set5' -> 'Set5', 'bsd200' -> 'BSD200')."""
    return {kind.test_set: kind.label for _, kind in DATA_KINDS.items()}


def set_rank(test_set: str | None) -> int:
    """Where a test set goes among the columns of a table (unknown names with the unranked ones)."""
    ranks = {kind.test_set: kind.rank for _, kind in DATA_KINDS.items()}
    return ranks.get(test_set or "", DataKind.rank)


def required(root: Path | str | None, kind: DataKind) -> Path:
    if root is None:
        raise DataError(f"no folder given for the {kind.name} data set; pass its path or use the built-in set")
    return Path(root)


def checked_size(image_set: ImageSet, paths: Sequence[Path], min_size: int, kind: DataKind) -> ImageSet:
    """Fail at load time, naming the file, when an image cannot give a ``min_size`` crop."""
    for i, image in enumerate(image_set.images):
        if min(image.shape[:2]) < min_size:
            where = paths[i] if paths else Path(f"builtin:{image_set.names[i]}")
            problem = f"image is {image.shape[0]}x{image.shape[1]}, smaller than the {min_size}px crop"
            raise kind.error(where, f"{problem}; remove it or lower the crop size")
    return image_set


def too_small(shapes: Sequence[tuple[Path, tuple[int, ...]]], min_size: int) -> str | None:
    """The search images that cannot give a ``min_size`` crop, named (the first few), or None."""
    small = [f"{path.name} ({shape[0]}x{shape[1]})" for path, shape in shapes if min(shape[:2]) < min_size]
    if not small:
        return None
    shown = ", ".join(small[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
    return (f"{len(small)} search image(s) smaller than the {min_size}px crop a trial takes: {shown}; remove them "
            f"or lower the crop (search.crop_size, retrain.crop_size)")


class FolderKind(DataKind):
    """Clean/HR image files per split, optionally LR files per scale (``FoundFiles``)."""

    @abstractmethod
    def find(self, root: Path) -> FoundFiles:
        """Check the layout and list the files (nothing decoded yet)."""

    def count(self, root: Path | None, split: str) -> int:
        return len(self.find(required(root, self)).splits.get(split, []))

    def read(self, root: Path | None, split: str, opts: LoadOptions) -> ImageSet:
        found = self.find(required(root, self))
        self._raise(found, [lr_problem(found, s) for s in opts.scales])  # before decoding anything
        paths = found.splits[split]
        files = [decode(path, self.name, self.layout, None) for path in paths]
        images = [as_color(image, opts.color) for image in files]
        if not opts.modcrop:
            shapes = [(path, image.shape) for path, image in zip(paths, images, strict=True)]
            self._raise(found, [indivisible_problem(found, self.has_lr_layout, shapes, s) for s in opts.scales])
        lr = {s: read_lr(found.lr[s], images, s, opts.color, self.name, self.layout)
              for s in opts.scales if s in found.lr}
        gray = tuple(image.shape[2] == 1 for image in files) if opts.color else ()
        image_set = ImageSet(self.test_set if split == TEST else self.name, images, tuple(p.stem for p in paths), lr,
                             gray)
        return checked_size(image_set, paths, opts.min_size, self)

    def check(self, root: Path | None, scales: Sequence[int] | None, opts: LoadOptions) -> str:
        found = self.find(required(root, self))
        bad: list[str] = []
        lines = [f"{self.name} at {found.root}"]
        hr = {split: shapes_of(files, self.name, self.layout, bad) for split, files in found.splits.items()}
        for split, shapes in hr.items():
            sizes = [shape for _, shape in shapes]
            lines.append(f"  {split}: {len(sizes)} images{self.count_note(split, len(sizes))}, {size_range(sizes)}")
        for scale, files in found.lr.items():
            lr_sizes = [s for _, s in shapes_of(files, self.name, self.layout, bad)]
            lines.append(f"  LR x{scale}: {len(files)} files, {size_range(lr_sizes)}")
        problems = [f"{len(bad)} image(s) cannot be decoded; replace or delete them: " + "; ".join(bad)] if bad else []
        problems += [p for p in [too_small(hr.get(SEARCH, []), opts.min_size)] if p]
        at_scales = self._scale_problems(found, hr, self._report_scales(found) if scales is None else scales,
                                         opts.modcrop)
        if scales is not None:
            problems += [problem for _, problem in at_scales]
        if problems:
            raise DataError(f"{found.root}: " + "; ".join(problems))
        if self.has_lr_layout and not found.lr and not any(f.scales is not None for f in found.lr_folders):
            lines.append("  LR: none on disk; made by bicubic downsampling")
        return "\n".join(lines + [f"  x{scale} not usable as is: {problem}" for scale, problem in at_scales])

    def _raise(self, found: FoundFiles, problems: list[str | None]) -> None:
        problems = [p for p in problems if p]
        if problems:
            raise DataError(f"{found.root}: " + "; ".join(problems) + f" (a {self.name} folder: {self.layout})")

    def _report_scales(self, found: FoundFiles) -> tuple[int, ...]:
        if not self.has_lr_layout:
            return ()
        return tuple(sorted({*REPORT_SCALES, *(s for f in found.lr_folders for s in f.scales or ())}))

    def _scale_problems(self, found: FoundFiles, hr: dict[str, list[tuple[Path, tuple[int, ...]]]],
                        scales: Sequence[int], modcrop: bool) -> list[tuple[int, str]]:
        """(scale, problem) for what ``read`` would refuse at each scale."""
        found_problems = []
        for scale in scales:
            problem = lr_problem(found, scale)
            if problem is None and not modcrop:
                problem = "; ".join(p for shapes in hr.values()
                                    if (p := indivisible_problem(found, self.has_lr_layout, shapes, scale)))
            if problem:
                found_problems.append((scale, problem))
        return found_problems
