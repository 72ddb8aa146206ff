"""Finding and reading the files of image folders: the helpers the data-set kinds (``trials.data.kinds``) share.

LR inputs at a scale s a trial needs: the ``X{s}`` LR files; where a folder has no LR folder at all, bicubic
downsampling of HR images whose sides are multiples of s (others: ``indivisible_problem``, or crop them at load
with ``data.modcrop``). An LR folder without ``X{s}`` is an error (``lr_problem``), never a silent fallback.
Every problem is a DataError.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trials.data.degrade import align_lr
from trials.data.errors import DataError
from trials.data.images import list_images, read_image


@dataclass(frozen=True)
class LRFolder:
    """One part's LR folder (LR_bicubic, DIV2K_train_LR_bicubic, ...) and the ``X{s}`` scales in it."""

    path: Path
    scales: tuple[int, ...] | None  # None: there is no such folder


@dataclass(frozen=True)
class FoundFiles:
    """Image files of one data folder: clean/HR files per split, and LR files per scale for SR sets."""

    root: Path
    splits: dict[str, list[Path]]  # 'search' and/or 'test'
    lr: dict[int, list[Path]] = field(default_factory=dict)  # scale -> files, same order as the only split
    lr_folders: tuple[LRFolder, ...] = ()  # one per part of an SR set (df2k: DIV2K, Flickr2K)


def found_in_parts(root: Path, parts: Sequence[tuple[list[Path], Path]], split: str,
                   error: Callable[[Path, str], DataError]) -> FoundFiles:
    """The files of an HR layout made of parts (HR files, their LR parent folder): DIV2K, DF2K's two, a
    benchmark's one. LR scales are those present for every part."""
    lr_parts = [find_lr(hr, lr_parent, error) for hr, lr_parent in parts]
    in_all = set.intersection(*(set(lr) for lr in lr_parts))
    lr = {s: [path for part in lr_parts for path in part[s]] for s in sorted(in_all)}
    lr_folders = tuple(LRFolder(lr_parent, tuple(found) if lr_parent.is_dir() else None)
                       for found, (_, lr_parent) in zip(lr_parts, parts, strict=True))
    return FoundFiles(root, {split: [path for hr, _ in parts for path in hr]}, lr, lr_folders)


def decode(path: Path, name: str, layout: str, color: bool | None) -> np.ndarray:
    """``read_image`` whose errors also say which layout was being read."""
    try:
        return read_image(path, color)
    except DataError as err:
        raise DataError(f"{err}; reading a {name} folder laid out as {layout}") from err


def read_lr(paths: list[Path], hr_images: list[np.ndarray], scale: int, color: bool, name: str,
            layout: str) -> list[np.ndarray]:
    """The LR files of one scale, decoded and aligned to their HR images."""
    aligned = []
    for path, hr in zip(paths, hr_images, strict=True):
        lr = decode(path, name, layout, color)
        try:
            aligned.append(align_lr(lr, hr, scale)[0])
        except DataError as err:
            raise DataError(f"{path}: {err}") from err
    return aligned


def shapes_of(files: list[Path], name: str, layout: str, bad: list[str]) -> list[tuple[Path, tuple[int, ...]]]:
    """(path, shape) of the files that decode; one line per file that does not goes to ``bad``."""
    shapes = []
    for path in files:
        try:
            shapes.append((path, decode(path, name, layout, color=None).shape))
        except DataError as err:
            bad.append(f"{path.name} ({str(err.__cause__ or err)[:120]})")
    return shapes


def size_range(shapes: list[tuple[int, ...]]) -> str:
    if not shapes:
        return "no readable files"
    heights, widths = [s[0] for s in shapes], [s[1] for s in shapes]
    channels = sorted({"gray" if s[2] == 1 else "RGB" for s in shapes})
    return (
        f"height {min(heights)}-{max(heights)}, width {min(widths)}-{max(widths)}, {'/'.join(channels)} files"
    )


def lr_problem(found: FoundFiles, scale: int) -> str | None:
    """Why a trial cannot have x``scale`` inputs from this folder, or None: its LR files are there, or the
    folder has no LR folder at all (bicubic downsampling then makes them)."""
    present = [f for f in found.lr_folders if f.scales is not None]
    if scale <= 1 or scale in found.lr or not present:
        return None
    having = [f for f in present if scale in f.scales]
    if having:  # df2k: one part has X{s}, the other not
        lacking = _x_folders(found, [f for f in found.lr_folders if f not in having], scale)
        return (f"{_x_folders(found, having, scale)} holds x{scale} LR files but {lacking} "
                f"does not exist; the LR files of a scale must be there for every part of the set or for none: "
                f"add them, or move the x{scale} LR folder away to have x{scale} LR made by bicubic downsampling")
    folders = _x_folders(found, present, scale)
    scales = ", ".join(f"x{s}" for s in sorted({s for f in present for s in f.scales})) or "none"
    return (f"{folders} not found (LR scales present: {scales}), so there are no x{scale} inputs; add the "
            f"X{scale} LR files, run at the scales present only, or move the LR folder away to have LR made by "
            f"bicubic downsampling at every scale")


def indivisible_problem(found: FoundFiles, has_lr_layout: bool, hr: Sequence[tuple[Path, tuple[int, ...]]],
                        scale: int) -> str | None:
    """At a scale without LR files, the HR images (path, shape) whose sides are not multiples of ``scale``,
    every one named; None if there are none."""
    odd = [(p, s) for p, s in hr if s[0] % scale or s[1] % scale] if scale > 1 and scale not in found.lr else []
    if not odd:
        return None
    names = ", ".join(f"{_relative(p, found.root)} ({s[0]}x{s[1]})" for p, s in odd)
    supply = (f"supply x{scale} LR files ({_x_folders(found, found.lr_folders, scale, ' and ')}), "
              if has_lr_layout else "")
    return (f"{len(odd)} HR image(s) have a side that is not a multiple of {scale} and there are no x{scale} LR "
            f"files for them: {names}; modcrop them (crop to a multiple of {scale}), {supply}or set "
            f"data.modcrop=true to crop them at load")


def _x_folders(found: FoundFiles, folders: Sequence[LRFolder], scale: int, sep: str = ", ") -> str:
    return sep.join(_relative(f.path / f"X{scale}", found.root) for f in folders)


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def images_in(folder: Path, error: Callable[[Path, str], DataError]) -> list[Path]:
    """The image files of a folder that must hold some; ``error(folder, problem)`` says which layout."""
    if not folder.is_dir():
        raise error(folder, "folder not found")
    files = list_images(folder)
    if not files:
        raise error(folder, "no image files in this folder")
    return files


def find_lr(hr: list[Path], lr_parent: Path, error: Callable[[Path, str], DataError]) -> dict[int, list[Path]]:
    """LR files for every ``X{s}`` folder present; a folder missing some HR image's LR is an error."""
    found = {}
    folders = sorted(lr_parent.iterdir()) if lr_parent.is_dir() else []
    for folder in (f for f in folders if f.is_dir() and re.fullmatch(r"X\d+", f.name)):
        scale = int(folder.name[1:])
        by_stem = {_hr_stem(p.stem, scale): p for p in list_images(folder)}
        missing = [p.name for p in hr if p.stem not in by_stem]
        if missing:
            raise error(folder, f"no LR file for {len(missing)} HR images, e.g. {missing[0]}")
        found[scale] = [by_stem[p.stem] for p in hr]
    return dict(sorted(found.items()))


def _hr_stem(lr_stem: str, scale: int) -> str:
    suffix = f"x{scale}"
    return lr_stem[: -len(suffix)] if lr_stem.lower().endswith(suffix) else lr_stem


def named_folder(test_root: str | Path | None, name: str, names: Sequence[str], layout: str) -> Path:
    """The sub-folder of ``test_root`` whose name is one of ``names`` (case-insensitively), for test set
    ``name``; a DataError saying what was looked for (and how it is ``layout``) otherwise."""
    if test_root is None:
        raise DataError(f"data.test_sets names {name} but data.test_root is not set; point it at the folder "
                        f"holding {', '.join(names)}")
    root = Path(test_root)
    if not root.is_dir():
        raise DataError(f"{root}: data.test_root does not exist or is not a folder")
    wanted = {n.lower() for n in names}
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name.lower() in wanted:
            return child
    raise DataError(f"{root}: no folder for test set {name}; expected one of {', '.join(names)} {layout}")
