"""``check_folder``: what a data folder holds, or a DataError saying what is wrong, before anything trains."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from trials.data.errors import DataError
from trials.data.kinds import DATA_KINDS, LoadOptions


def check_folder(
    path: Path | str | None,
    kind: str,
    *,
    scales: Sequence[int] | None = None,
    modcrop: bool = False,
    options: Mapping[str, str] | None = None,
    min_size: int = 0,
) -> str:
    """Decode every image (one at a time, nothing kept) and report counts, sizes and LR scales found; a
    DataError naming every file that cannot be decoded, not just the first.

    ``scales``: those a trial needs (``data.modcrop`` = ``modcrop``); what the loader would refuse at them (an
    LR folder without ``X{s}``, HR sides that are not multiples of s without LR files) is in the DataError too.
    None: those problems at x2, x3, x4 (and any LR scale found) are report lines, for SR folders.
    Deraining kinds (``options``: rain800's ``pair_order``): pairs, sizes and unpaired clean images per split
    found; the DataError names every corrupt file, rainy image without its clean one and pair of different sizes.
    ``min_size``: the side every search image needs (the largest crop a trial takes); smaller ones are named.
    """
    if kind not in DATA_KINDS:
        raise DataError(f"{path}: unknown data set kind {kind!r}; use one of {', '.join(DATA_KINDS.names())}")
    opts = LoadOptions(color=False, scales=tuple(scales or ()), min_size=min_size, modcrop=modcrop,
                       options=dict(options or {}))
    return DATA_KINDS.get(kind).check(None if path is None else Path(path), scales, opts)
