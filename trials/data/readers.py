"""Finding the files of real data sets in the layouts they ship in; every problem is a DataError.

Layouts (``LAYOUTS`` holds the text the errors quote):
- bsd500: ``images/{train,val,test}/*.jpg`` (also under ``BSR/BSDS500/data`` or ``BSDS500/data``), or flat
  ``train/`` (+ optional ``val/``) and ``test/``. Search/train = train + val (300), test = test (200,
  named "bsd200").
- div2k: ``DIV2K_train_HR/*.png``, optional ``DIV2K_train_LR_bicubic/X{s}/*x{s}.png``.
- set5, set14, bsd100, urban100, manga109: ``HR/*.png``, optional ``LR_bicubic/X{s}/*`` matched by file stem
  (an ``x{s}`` suffix on LR stems is ignored).
"""

import re
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
} | {kind: f"HR/*.png, {_LR_HELP}" for kind in BENCHMARKS}
# Folder names the benchmarks ship under (matched case-insensitively inside data.test_root).
BENCHMARK_FOLDERS = {"set5": ("Set5",), "set14": ("Set14",), "bsd100": ("BSD100", "B100"),
                     "urban100": ("Urban100",), "manga109": ("Manga109",)}
FOLDER_KINDS = tuple(kind for kind in LAYOUTS if kind != "builtin")
_BSD_ROOTS = (".", "BSR/BSDS500/data", "BSDS500/data", "data")


@dataclass(frozen=True)
class FoundFiles:
    """Image files of one data folder: clean/HR files per split, and LR files per scale for SR sets."""

    root: Path
    splits: dict[str, list[Path]]  # 'search' and/or 'test'
    lr: dict[int, list[Path]] = field(default_factory=dict)  # scale -> files, same order as the only split


def find_files(kind: str, root: Path | str) -> FoundFiles:
    """Check the layout and list the files (nothing decoded yet)."""
    root = Path(root)
    if kind not in FOLDER_KINDS:
        raise DataError(f"{root}: {kind!r} is not a data set read from a folder; use one of {FOLDER_KINDS}")
    if not root.is_dir():
        raise layout_error(root, kind, "folder not found")
    if kind == "bsd500":
        return _find_bsd500(root)
    hr_folder = root / ("DIV2K_train_HR" if kind == "div2k" else "HR")
    lr_parent = root / ("DIV2K_train_LR_bicubic" if kind == "div2k" else "LR_bicubic")
    hr = _images_in(hr_folder, kind)
    split = "search" if kind == "div2k" else "test"
    return FoundFiles(root, {split: hr}, _find_lr(hr, lr_parent, kind))


def layout_error(folder: Path, kind: str, problem: str) -> DataError:
    return DataError(f"{folder}: {problem}; expected a {kind} folder laid out as {LAYOUTS[kind]}")


def decode(path: Path, kind: str, color: bool | None) -> np.ndarray:
    """``read_image`` whose errors also say which layout was being read."""
    try:
        return read_image(path, color)
    except DataError as err:
        raise DataError(f"{err}; reading a {kind} folder laid out as {LAYOUTS[kind]}") from err


def _images_in(folder: Path, kind: str) -> list[Path]:
    if not folder.is_dir():
        raise layout_error(folder, kind, "folder not found")
    files = list_images(folder)
    if not files:
        raise layout_error(folder, kind, "no image files in this folder")
    return files


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
    return found


def _hr_stem(lr_stem: str, scale: int) -> str:
    suffix = f"x{scale}"
    return lr_stem[: -len(suffix)] if lr_stem.lower().endswith(suffix) else lr_stem


def benchmark_folder(test_root: str | None, name: str) -> Path:
    """The folder of test set ``name`` under ``test_root``, matched case-insensitively (Set5, set5, B100...)."""
    names = BENCHMARK_FOLDERS.get(name, (name,))
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
    raise DataError(f"{root}: no folder for test set {name}; expected one of {', '.join(names)} with HR/ inside")
