"""The entry points of the training pipeline: search/train images and test sets, of any registered kind
(``trials.data.kinds``), with LR inputs made for the scales the folder brings none for."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from trials.data.degrade import DEFAULT_DOWNSAMPLING, downsample
from trials.data.errors import DataError
from trials.data.images import ImageSet
from trials.data.kinds import DATA_KINDS, SEARCH, TEST, DataKind, LoadOptions


def load_search_set(
    kind: str = "builtin",
    root: Path | str | None = None,
    *,
    color: bool,
    scales: Sequence[int] = (),
    min_size: int = 0,
    modcrop: bool = False,
    downsampling: str = DEFAULT_DOWNSAMPLING,
    options: Mapping[str, str] | None = None,
) -> ImageSet:
    """Search/train images, every file decoded now, with inputs aligned for every scale > 1 in ``scales``:
    the folder's LR files where it has them, else made by ``downsampling`` (``ImageSet.pairs``). A deraining
    kind gives its (rainy, clean) pairs at scale 1.

    ``min_size``: the smallest side an image needs (the HR crop, ``crop_size * scale`` for SR).
    ``modcrop``: HR files of a folder without LR files at a scale may have sides that are not multiples of it;
    they are cropped bottom/right to one (``ImageSet.pairs``). False: such files are an error. The built-in
    set is always cropped so (its sizes are fixed by the code, not by files).
    ``options``: the kinds' own options by key (``data.options``: rain800's ``pair_order``).
    """
    entry = _kind(kind, SEARCH, root)
    opts = LoadOptions(color, tuple(scales), min_size, modcrop, dict(options or {}))
    return _with_lr(entry.read(_path(root), SEARCH, opts), scales, downsampling)


def load_test_sets(
    sources: Mapping[str, Path | str | None] | None = None,
    *,
    color: bool,
    scales: Sequence[int] = (),
    modcrop: bool = False,
    downsampling: str = DEFAULT_DOWNSAMPLING,
    options: Mapping[str, str] | None = None,
) -> dict[str, ImageSet]:
    """``sources`` maps kind -> folder (None: the built-in set); result keys are the kinds' test-set names
    (builtin, bsd200 for kind bsd500, set5, bsd68, rain100h, ...). Inputs are aligned for every scale > 1 in
    ``scales``; ``modcrop``, ``downsampling`` and ``options`` apply as in ``load_search_set``."""
    sets = {}
    opts = LoadOptions(color, tuple(scales), 0, modcrop, dict(options or {}))
    for kind, root in (sources or {"builtin": None}).items():
        entry = _kind(kind, TEST, root)
        sets[entry.test_set] = _with_lr(entry.read(_path(root), TEST, opts), scales, downsampling)
    return sets


def _kind(kind: str, split: str, root: Path | str | None) -> DataKind:
    serving = DATA_KINDS.filter(lambda k: split in k.splits)
    if kind not in serving:
        what = "search/train" if split == SEARCH else "test"
        raise DataError(f"{root}: {kind} is not a {what} set; use one of {', '.join(serving)}")
    return DATA_KINDS.get(kind)


def _path(root: Path | str | None) -> Path | None:
    return None if root is None else Path(root)


def _with_lr(image_set: ImageSet, scales: Sequence[int], downsampling: str) -> ImageSet:
    """LR inputs made by bicubic downsampling for the scales > 1 that have no LR files."""
    made = {s: [downsample(hr, s, downsampling) for hr in image_set.images]
            for s in scales if s > 1 and s not in image_set.lr}
    return image_set if not made else ImageSet(image_set.name, image_set.images, image_set.names,
                                               {**image_set.lr, **made}, image_set.gray_files)
