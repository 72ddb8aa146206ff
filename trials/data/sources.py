"""The entry points of the training pipeline: search/train images and test sets, built-in or from folders.

Deraining kinds (``trials.data.derain``) load as paired sets at scale 1: clean ``images``, rainy ``lr[1]``."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from trials.data.builtin import builtin_set
from trials.data.degrade import align_lr, bicubic_downsample
from trials.data.derain import (
    DERAIN_KINDS,
    DERAIN_TRAIN_KINDS,
    derain_error,
    find_derain_files,
    read_derain_set,
)
from trials.data.errors import DataError
from trials.data.images import ImageSet
from trials.data.readers import (
    BENCHMARKS,
    LAYOUTS,
    FoundFiles,
    decode,
    find_files,
    indivisible_problem,
    layout_error,
    lr_problem,
)

SEARCH_KINDS = ("builtin", "bsd500", "div2k", "df2k", *DERAIN_TRAIN_KINDS)
TEST_KINDS = ("builtin", "bsd500", *BENCHMARKS, *DERAIN_KINDS)
TEST_SET_NAMES = {"bsd500": "bsd200"}  # otherwise the kind is the name


def load_search_set(
    kind: str = "builtin",
    root: Path | str | None = None,
    *,
    color: bool,
    scales: Sequence[int] = (),
    min_size: int = 0,
    modcrop: bool = False,
    pair_order: str = "gt,lq",
) -> ImageSet:
    """Search/train images, every file decoded now, with inputs aligned for every scale > 1 in ``scales``:
    the folder's LR files where it has them, else bicubic downsampling (``ImageSet.pairs``). A deraining kind
    gives its (rainy, clean) pairs at scale 1 (``scales`` may hold only 1; ``modcrop`` does not apply), a split
    sub-folder ``train/`` or ``training/`` being used where the folder itself holds no pairs.

    ``min_size``: the smallest side an image needs (the HR crop, ``crop_size * scale`` for SR).
    ``modcrop``: HR files of a folder without LR files at a scale may have sides that are not multiples of it;
    they are cropped bottom/right to one (``ImageSet.pairs``). False: such files are an error. The built-in
    set is always cropped so (its sizes are fixed by the code, not by files).
    ``pair_order``: the halves of a rain800 file, left to right ("gt,lq": clean left, or "lq,gt").
    """
    if kind == "builtin":
        return _with_lr(_checked_size(builtin_set("search", color), [], min_size, kind), scales)
    if kind not in SEARCH_KINDS:
        raise DataError(f"{root}: {kind} is not a search/train set; use one of {', '.join(SEARCH_KINDS)}")
    if kind in DERAIN_KINDS:
        return _read_derain(kind, root, "search", color, scales, min_size, pair_order)
    return _read_set(kind, find_files(kind, _required(root, kind)), "search", color, scales, min_size, modcrop)


def load_search_images(kind: str = "builtin", root: Path | str | None = None, **options) -> list[np.ndarray]:
    """Just the images of ``load_search_set`` (same arguments)."""
    return load_search_set(kind, root, **options).images


def load_test_sets(
    sources: Mapping[str, Path | str | None] | None = None,
    *,
    color: bool,
    scales: Sequence[int] = (),
    modcrop: bool = False,
    pair_order: str = "gt,lq",
) -> dict[str, ImageSet]:
    """``sources`` maps kind -> folder (None: the built-in set); result keys: builtin, bsd200, set5, ...,
    rain100h, ... Inputs are aligned for every scale > 1 in ``scales``, and ``modcrop`` and ``pair_order``
    apply, as in ``load_search_set``; a deraining folder's split sub-folder is ``test/``, ``test_syn/`` or
    ``testing/``."""
    sets = {}
    for kind, root in (sources or {"builtin": None}).items():
        if kind not in TEST_KINDS:
            raise DataError(f"{root}: {kind} is not a test set; use one of {', '.join(TEST_KINDS)}")
        name = TEST_SET_NAMES.get(kind, kind)
        if kind == "builtin":
            sets[name] = _with_lr(builtin_set("test", color), scales)
        elif kind in DERAIN_KINDS:
            sets[name] = _read_derain(kind, root, "test", color, scales, 0, pair_order)
        else:
            found = find_files(kind, _required(root, kind))
            sets[name] = _read_set(kind, found, "test", color, scales, 0, modcrop)
    return sets


def _required(root: Path | str | None, kind: str) -> Path:
    if root is None:
        raise DataError(f"no folder given for the {kind} data set; pass its path or use the built-in set")
    return Path(root)


def _read_set(
    kind: str, found: FoundFiles, split: str, color: bool, scales: Sequence[int], min_size: int, modcrop: bool
) -> ImageSet:
    _raise_problems(found, kind, [lr_problem(found, s) for s in scales])  # before decoding anything
    paths = found.splits[split]
    images = [decode(path, kind, color) for path in paths]
    if not modcrop:
        shapes = [(path, image.shape) for path, image in zip(paths, images, strict=True)]
        _raise_problems(found, kind, [indivisible_problem(found, kind, shapes, s) for s in scales])
    lr = {s: _read_lr(found.lr[s], images, s, color, kind) for s in scales if s in found.lr}
    image_set = ImageSet(TEST_SET_NAMES.get(kind, kind), images, tuple(p.stem for p in paths), lr)
    return _with_lr(_checked_size(image_set, paths, min_size, kind), scales)


def _read_derain(
    kind: str, root: Path | str | None, split: str, color: bool, scales: Sequence[int], min_size: int, order: str
) -> ImageSet:
    """A paired deraining set; the crop check names the rainy file (its clean one has the same size)."""
    if any(s != 1 for s in scales):
        raise DataError(f"{root}: {kind} is a deraining set, its pairs are at scale 1 only; scales "
                        f"{tuple(scales)} were asked for: drop the SR scales for this task")
    files = find_derain_files(kind, _required(root, kind), split)
    return _checked_size(read_derain_set(files, color=color, order=order), [r for r, _ in files.pairs], min_size,
                         kind)


def _raise_problems(found: FoundFiles, kind: str, problems: list[str | None]) -> None:
    problems = [p for p in problems if p]
    if problems:
        raise DataError(f"{found.root}: " + "; ".join(problems) + f" (a {kind} folder: {LAYOUTS[kind]})")


def _with_lr(image_set: ImageSet, scales: Sequence[int]) -> ImageSet:
    """LR inputs made by bicubic downsampling for the scales > 1 that have no LR files."""
    made = {s: [bicubic_downsample(hr, s) for hr in image_set.images]
            for s in scales if s > 1 and s not in image_set.lr}
    return image_set if not made else ImageSet(image_set.name, image_set.images, image_set.names,
                                               {**image_set.lr, **made})


def _read_lr(
    paths: list[Path], hr_images: list[np.ndarray], scale: int, color: bool, kind: str
) -> list[np.ndarray]:
    aligned = []
    for path, hr in zip(paths, hr_images, strict=True):
        lr = decode(path, kind, color)
        try:
            aligned.append(align_lr(lr, hr, scale)[0])
        except DataError as err:
            raise DataError(f"{path}: {err}") from err
    return aligned


def _checked_size(image_set: ImageSet, paths: list[Path], min_size: int, kind: str) -> ImageSet:
    """Fail at load time, naming the file, when an image cannot give a ``min_size`` crop."""
    for i, image in enumerate(image_set.images):
        if min(image.shape[:2]) < min_size:
            where = paths[i] if paths else Path(f"builtin:{image_set.names[i]}")
            problem = f"image is {image.shape[0]}x{image.shape[1]}, smaller than the {min_size}px crop"
            error = derain_error if kind in DERAIN_KINDS else layout_error
            raise error(where, kind, f"{problem}; remove it or lower the crop size")
    return image_set
