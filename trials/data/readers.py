"""Finding the files of real data sets in the layouts they ship in; every problem is a DataError.

Layouts (``LAYOUTS`` holds the text the errors quote):
- bsd500: ``images/{train,val,test}/*.jpg`` (also under ``BSR/BSDS500/data`` or ``BSDS500/data``), or flat
  ``train/`` (+ optional ``val/``) and ``test/``. Search/train = train + val (300), test = test (200,
  named "bsd200").
- div2k: ``DIV2K_train_HR/*.png``, optional ``DIV2K_train_LR_bicubic/X{s}/*x{s}.png``.
- df2k: DIV2K's folders above and ``Flickr2K_HR/*.png`` with optional ``Flickr2K_LR_bicubic/X{s}/*x{s}.png``
  (both also under ``Flickr2K/``, as Flickr2K.tar unpacks). Order: DIV2K sorted, then Flickr2K sorted
  (DLSR: 800 + 2650 = 3450 images). An ``X{s}`` folder must be there for both parts or for neither.
- set5, set14, bsd100, urban100, manga109: ``HR/*.png``, optional ``LR_bicubic/X{s}/*`` matched by file stem
  (an ``x{s}`` suffix on LR stems is ignored).

LR inputs at a scale s a trial needs: the ``X{s}`` LR files; where a folder has no LR folder at all, bicubic
downsampling of HR images whose sides are multiples of s (others: ``indivisible_problem``, or crop them at load
with ``data.modcrop``). An LR folder without ``X{s}`` is an error (``lr_problem``), never a silent fallback.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trials.data.errors import DataError
from trials.data.images import list_images, read_image

BENCHMARKS = ("set5", "set14", "bsd100", "urban100", "manga109")
_LR_HELP = "optional LR_bicubic/X{s}/<stem>x{s}.png next to HR/"
LAYOUTS = {
    "builtin": "no folder (scikit-image's bundled photographs, longest side 256 px)",
    "bsd500": "images/{train,val,test}/*.jpg (or BSR/BSDS500/data/images/...), or flat train/ + test/",
    "div2k": "DIV2K_train_HR/*.png, optional DIV2K_train_LR_bicubic/X{s}/*x{s}.png",
    "df2k": "DIV2K_train_HR/*.png and Flickr2K_HR/*.png (or Flickr2K/Flickr2K_HR/*.png), optional "
            "DIV2K_train_LR_bicubic/X{s}/*x{s}.png and Flickr2K_LR_bicubic/X{s}/*x{s}.png (or under Flickr2K/), "
            "each X{s} for both or for neither",
} | {kind: f"HR/*.png, {_LR_HELP}" for kind in BENCHMARKS}
# Folder names the benchmarks ship under (matched case-insensitively inside data.test_root).
BENCHMARK_FOLDERS = {"set5": ("Set5",), "set14": ("Set14",), "bsd100": ("BSD100", "B100"),
                     "urban100": ("Urban100",), "manga109": ("Manga109",)}
FOLDER_KINDS = tuple(kind for kind in LAYOUTS if kind != "builtin")
SR_FOLDER_KINDS = tuple(kind for kind in FOLDER_KINDS if kind != "bsd500")  # those with an LR layout
_BSD_ROOTS = (".", "BSR/BSDS500/data", "BSDS500/data", "data")
_DIV2K = ("DIV2K_train_HR", "DIV2K_train_LR_bicubic")  # (HR folder, LR folder)
_FLICKR2K = ("Flickr2K_HR", "Flickr2K_LR_bicubic")
_FLICKR2K_PARENTS = (".", "Flickr2K")


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


def find_files(kind: str, root: Path | str) -> FoundFiles:
    """Check the layout and list the files (nothing decoded yet)."""
    root = Path(root)
    if kind not in FOLDER_KINDS:
        raise DataError(f"{root}: {kind!r} is not a data set read from a folder; use one of {FOLDER_KINDS}")
    if not root.is_dir():
        raise layout_error(root, kind, "folder not found")
    if kind == "bsd500":
        return _find_bsd500(root)
    if kind == "df2k":
        parts = [(root / _DIV2K[0], root / _DIV2K[1]), _flickr2k_folders(root)]
    else:
        parts = [(root / _DIV2K[0], root / _DIV2K[1])] if kind == "div2k" else [(root / "HR", root / "LR_bicubic")]
    hr_parts = [_images_in(hr_folder, kind) for hr_folder, _ in parts]
    lr_parts = [_find_lr(hr, lr_parent, kind) for hr, (_, lr_parent) in zip(hr_parts, parts, strict=True)]
    in_all = set.intersection(*(set(lr) for lr in lr_parts))
    lr = {s: [path for part in lr_parts for path in part[s]] for s in sorted(in_all)}
    lr_folders = tuple(LRFolder(lr_parent, tuple(found) if lr_parent.is_dir() else None)
                       for found, (_, lr_parent) in zip(lr_parts, parts, strict=True))
    split = "test" if kind in BENCHMARKS else "search"
    return FoundFiles(root, {split: [path for hr in hr_parts for path in hr]}, lr, lr_folders)


def layout_error(folder: Path, kind: str, problem: str) -> DataError:
    return DataError(f"{folder}: {problem}; expected a {kind} folder laid out as {LAYOUTS[kind]}")


def decode(path: Path, kind: str, color: bool | None) -> np.ndarray:
    """``read_image`` whose errors also say which layout was being read."""
    try:
        return read_image(path, color)
    except DataError as err:
        raise DataError(f"{err}; reading a {kind} folder laid out as {LAYOUTS[kind]}") from err


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


def indivisible_problem(found: FoundFiles, kind: str, hr: Sequence[tuple[Path, tuple[int, ...]]],
                        scale: int) -> str | None:
    """At a scale without LR files, the HR images (path, shape) whose sides are not multiples of ``scale``,
    every one named; None if there are none."""
    odd = [(p, s) for p, s in hr if s[0] % scale or s[1] % scale] if scale > 1 and scale not in found.lr else []
    if not odd:
        return None
    names = ", ".join(f"{_relative(p, found.root)} ({s[0]}x{s[1]})" for p, s in odd)
    supply = (f"supply x{scale} LR files ({_x_folders(found, found.lr_folders, scale, ' and ')}), "
              if kind in SR_FOLDER_KINDS else "")
    return (f"{len(odd)} HR image(s) have a side that is not a multiple of {scale} and there are no x{scale} LR "
            f"files for them: {names}; modcrop them (crop to a multiple of {scale}), {supply}or set "
            f"data.modcrop=true to crop them at load")


def _x_folders(found: FoundFiles, folders: Sequence[LRFolder], scale: int, sep: str = ", ") -> str:
    return sep.join(_relative(f.path / f"X{scale}", found.root) for f in folders)


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _images_in(folder: Path, kind: str) -> list[Path]:
    if not folder.is_dir():
        raise layout_error(folder, kind, "folder not found")
    files = list_images(folder)
    if not files:
        raise layout_error(folder, kind, "no image files in this folder")
    return files


def _flickr2k_folders(root: Path) -> tuple[Path, Path]:
    """(HR folder, LR folder) of Flickr2K: in ``root`` or in ``root/Flickr2K``; LR preferably beside HR."""
    bases = [root / sub for sub in _FLICKR2K_PARENTS]
    hr_bases = [base for base in bases if (base / _FLICKR2K[0]).is_dir()]
    if not hr_bases:
        raise layout_error(root, "df2k", f"no {_FLICKR2K[0]}/ or Flickr2K/{_FLICKR2K[0]}/ folder")
    lr_bases = [hr_bases[0]] + [base for base in bases if base != hr_bases[0]]
    lr = next((base / _FLICKR2K[1] for base in lr_bases if (base / _FLICKR2K[1]).is_dir()),
              hr_bases[0] / _FLICKR2K[1])
    return hr_bases[0] / _FLICKR2K[0], lr


def _find_bsd500(root: Path) -> FoundFiles:
    for sub in _BSD_ROOTS:
        base = root / sub
        if (base / "images" / "test").is_dir():
            return _bsd_splits(root, base / "images")
        if (base / "train").is_dir() and (base / "test").is_dir():
            return _bsd_splits(root, base)
    loose = len(list_images(root))
    problem = (
        f"{loose} images directly in the folder, no train/ and test/" if loose else "no train/ and test/"
    )
    raise layout_error(root, "bsd500", problem)


def _bsd_splits(root: Path, base: Path) -> FoundFiles:
    search = _images_in(base / "train", "bsd500")
    if (base / "val").is_dir():
        search += _images_in(base / "val", "bsd500")
    return FoundFiles(root, {"search": search, "test": _images_in(base / "test", "bsd500")})


def _find_lr(hr: list[Path], lr_parent: Path, kind: str) -> dict[int, list[Path]]:
    """LR files for every ``X{s}`` folder present; a folder missing some HR image's LR is an error."""
    found = {}
    folders = sorted(lr_parent.iterdir()) if lr_parent.is_dir() else []
    for folder in (f for f in folders if f.is_dir() and re.fullmatch(r"X\d+", f.name)):
        scale = int(folder.name[1:])
        by_stem = {_hr_stem(p.stem, scale): p for p in list_images(folder)}
        missing = [p.name for p in hr if p.stem not in by_stem]
        if missing:
            raise layout_error(folder, kind, f"no LR file for {len(missing)} HR images, e.g. {missing[0]}")
        found[scale] = [by_stem[p.stem] for p in hr]
    return dict(sorted(found.items()))


def _hr_stem(lr_stem: str, scale: int) -> str:
    suffix = f"x{scale}"
    return lr_stem[: -len(suffix)] if lr_stem.lower().endswith(suffix) else lr_stem


def benchmark_folder(test_root: str | None, name: str) -> Path:
    """The folder of test set ``name`` under ``test_root``, matched case-insensitively (Set5, set5, B100...)."""
    return named_folder(test_root, name, BENCHMARK_FOLDERS.get(name, (name,)), "with HR/ inside")


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
