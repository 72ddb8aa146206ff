"""Paired deraining sets in the layouts they ship in: finding the pairs, checking them, loading them.

Layouts (``DERAIN_LAYOUTS`` holds the text errors quote). N and M are integers; zero padding does not matter
(``rain-001`` pairs with ``norain-1``):
- rain100l, rain100h, rain12 (prefix layout): rainy ``rain-N.<ext>``, clean ``norain-N.<ext>``. Both in the folder
  (PReNet's RainTrainL, RainTrainH), or the rainy ones in ``rainy/`` (or ``rain/``) and the clean ones in the folder
  or in ``norain/`` (PReNet's Rain100L and Rain100H test sets: ``rainy/rain-001.png`` + ``norain-001.png``).
  Inside ``rainy/`` a plain ``N.<ext>`` is rainy too, and inside ``groundtruth/`` a plain ``N.<ext>`` is clean
  (PReNet's Rain12: ``rainy/1.png`` + ``groundtruth/1.png``).
- rain1400 (DDN): ``rainy_image/N_M.<ext>`` pairs with ``ground_truth/N.<ext>`` (Rain12600 for training, Rain1400
  for testing: 14 rainy images per clean one).
- rain800 (ID-CGAN, derain-toolbox): every file directly in the folder holds one pair side by side, split at the
  middle column; ``order`` names the halves left to right: "gt,lq" (clean left, the default) or "lq,gt".

Where the folder itself holds none of its layout's files, one split sub-folder may hold them (matched
case-insensitively): for search/training ``train/`` or ``training/``, for testing ``test/``, ``test_syn/`` or
``testing/`` (ID-CGAN's Rain800 ships ``training/`` and ``test_syn/``); with no split given, whichever one exists.

One set entry per rainy image; a clean image shared by several rainy ones (Rain1400) is decoded once and the same
array reused. A rainy image without its clean one is an error; a clean image without rainy ones is allowed (PReNet
deletes the 546 RainTrainH pairs whose backgrounds are in Rain100H; DDN has spare clean images): ``check_folder``
reports them. Names and sizes of every pair are checked from file headers before anything is decoded.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trials.data.errors import DataError
from trials.data.images import ImageSet, list_images, read_image, read_size

PREFIX_KINDS = ("rain100l", "rain100h", "rain12")
DERAIN_KINDS = (*PREFIX_KINDS, "rain1400", "rain800")
DERAIN_TRAIN_KINDS = tuple(kind for kind in DERAIN_KINDS if kind != "rain12")  # Rain12 has 12 test images only
PAIR_ORDERS = ("gt,lq", "lq,gt")  # rain800 halves, left to right (derain-toolbox's ``key``)
_PREFIX_LAYOUT = ("rain-N.png + norain-N.png in the folder, or rainy/rain-N.png with norain-N.png in the folder "
                  "or in norain/, or rainy/N.png + groundtruth/N.png")
DERAIN_LAYOUTS = {kind: _PREFIX_LAYOUT for kind in PREFIX_KINDS} | {
    "rain1400": "rainy_image/N_M.jpg + ground_truth/N.jpg",
    "rain800": "images directly in the folder, each holding one pair side by side (a clean and a rainy half)",
}
_SPLIT_LAYOUTS = " (or all of that in one split sub-folder: train/, training/, test/, test_syn/, testing/)"
SPLIT_FOLDERS = {"search": ("train", "training"), "test": ("test", "test_syn", "testing")}
_RAINY_FOLDERS, _CLEAN_FOLDERS = ("rainy", "rain"), ("norain", "groundtruth")
_HEAVY_NAMES = ("100h", "200h", "trainh")  # folder-name markers of Rain100H's heavy rain
Key = int | tuple[int, int]


@dataclass(frozen=True)
class DerainFiles:
    """The pairs of one deraining folder, nothing decoded; what is wrong with the names alone is in ``problems``."""

    kind: str
    root: Path  # the folder given
    folder: Path  # where the layout's files are: root, or one split sub-folder of it
    pairs: list[tuple[Path, Path]]  # (rainy, clean) per rainy image; rain800: (file, file)
    unpaired_clean: list[Path]
    problems: list[str]  # rainy images without a clean one, misnamed images, duplicate numbers: every file named


def derain_error(folder: Path, kind: str, problem: str) -> DataError:
    return DataError(f"{folder}: {problem}; expected a {kind} folder laid out as {DERAIN_LAYOUTS[kind]}"
                     f"{_SPLIT_LAYOUTS}")


def find_derain_files(kind: str, root: Path | str, split: str | None = None) -> DerainFiles:
    """List and pair the files (names only); a missing folder or one without the layout's files is an error."""
    root = Path(root)
    if kind not in DERAIN_KINDS:
        raise DataError(f"{root}: {kind!r} is not a deraining set; use one of {', '.join(DERAIN_KINDS)}")
    if not root.is_dir():
        raise derain_error(root, kind, "folder not found")
    folder = _layout_folder(kind, root, split)
    return _FINDERS[_family(kind)](kind, root, folder)


def read_derain_set(files: DerainFiles, *, color: bool, order: str = "gt,lq") -> ImageSet:
    """Check every pair's names and header sizes (one DataError naming every bad file), then decode."""
    _check_order(order, files)
    sizes, unreadable = file_sizes(files)
    _raise_problems(files, files.problems + unreadable + size_problems(files, sizes))
    if files.kind == "rain800":
        halves = [_halves(_decode(path, files.kind, color), order) for path, _ in files.pairs]
        clean, rainy = [c for c, _ in halves], [r for _, r in halves]
    else:
        clean = _decode_shared([c for _, c in files.pairs], files.kind, color)
        rainy = [_decode(r, files.kind, color) for r, _ in files.pairs]
    return ImageSet(files.kind, clean, tuple(r.stem for r, _ in files.pairs), {1: rainy})


def file_sizes(files: DerainFiles, *, decode: bool = False) -> tuple[dict[Path, tuple[int, ...]], list[str]]:
    """The size of every file of the pairs, from its header, or its (H, W, C) shape where ``decode`` (every file
    decoded in full, one at a time, nothing kept: truncated files show); one problem per unreadable file."""
    sizes, problems = {}, []
    for path in dict.fromkeys(path for pair in files.pairs for path in pair):
        try:
            sizes[path] = read_image(path, None).shape if decode else read_size(path)
        except DataError as err:
            problems.append(f"{_rel(path, files)} cannot be decoded ({str(err.__cause__ or err)[:120]})")
    return sizes, problems


def size_problems(files: DerainFiles, sizes: Mapping[Path, tuple[int, ...]]) -> list[str]:
    """Pairs whose sides differ (both files and sizes named), and rain800 files of odd width; files without a
    size (unreadable) are skipped, their own problem is reported elsewhere."""
    if files.kind == "rain800":
        odd = [(p, sizes[p]) for p, _ in files.pairs if p in sizes and sizes[p][1] % 2]
        return [f"{_rel(p, files)} is {s[0]}x{s[1]}: an odd width cannot be split into two halves" for p, s in odd]
    return [f"rainy {_rel(r, files)} is {sizes[r][0]}x{sizes[r][1]} but clean {_rel(c, files)} is "
            f"{sizes[c][0]}x{sizes[c][1]}" for r, c in files.pairs
            if r in sizes and c in sizes and sizes[r][:2] != sizes[c][:2]]


def derain_splits(kind: str, root: Path | str) -> list[str | None]:
    """The splits a folder holds: [None] when it holds the layout itself, else those with a sub-folder."""
    root = Path(root)
    if root.is_dir() and not _holds(kind, root):
        found = [split for split in SPLIT_FOLDERS if _split_candidates(kind, root, split)]
        if found:
            return found
    return [None]


def detect_derain_kind(root: Path | str) -> str:
    """The kind of a deraining folder (for ``--data ROOT``): DDN folders -> rain1400; rain-N/norain-N files ->
    rain100h when the folder's name says heavy rain (100H, 200H, TrainH), else rain100l; rainy/N +
    groundtruth/N -> rain12; images about twice as wide as tall (width even, 1.25 to 4 times the height: two
    photos side by side, each half between portrait 5:8 and landscape 2:1) -> rain800."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: folder not found; point --data at a deraining folder")
    folders = [root, *_split_candidates("rain800", root, None, any_files=True)]
    for folder in folders:
        if _holds("rain1400", folder):
            return "rain1400"
        if _holds("rain100l", folder):
            return _prefix_kind(root, folder)
    for folder in folders:
        if _side_by_side_like(folder):
            return "rain800"
    layouts = "; ".join(f"{kind}: {DERAIN_LAYOUTS[kind]}" for kind in ("rain100l", "rain1400", "rain800"))
    raise DataError(f"{root}: not a deraining folder in a known layout; expected one of {layouts}"
                    f"{_SPLIT_LAYOUTS}; or name the kind (rain100l, rain100h, rain1400, rain800)")


# --- where the files are ----------------------------------------------------------------------------------
def _family(kind: str) -> str:
    return "prefix" if kind in PREFIX_KINDS else kind


def _layout_folder(kind: str, root: Path, split: str | None) -> Path:
    """``root`` if it holds the layout's files, else its one split sub-folder that does."""
    if _holds(kind, root):
        return root
    candidates = _split_candidates(kind, root, split)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        names = ", ".join(f"{c.name}/" for c in candidates)
        raise derain_error(root, kind, f"holds several splits ({names}); point at one of them")
    subs = SPLIT_FOLDERS[split] if split else tuple(n for names in SPLIT_FOLDERS.values() for n in names)
    raise derain_error(root, kind, f"no {kind} images in the folder nor in a {'/, '.join(subs)}/ sub-folder")


def _split_candidates(kind: str, root: Path, split: str | None, any_files: bool = False) -> list[Path]:
    names = SPLIT_FOLDERS[split] if split else tuple(n for names in SPLIT_FOLDERS.values() for n in names)
    children = sorted(c for c in root.iterdir() if c.is_dir() and c.name.lower() in names) if root.is_dir() else []
    return [c for c in children if any_files or _holds(kind, c)]


def _holds(kind: str, folder: Path) -> bool:
    """Whether ``folder`` itself holds files of the layout (not whether they pair up)."""
    family = _family(kind)
    if family == "rain1400":
        return (folder / "rainy_image").is_dir() and (folder / "ground_truth").is_dir()
    if family == "rain800":
        return bool(list_images(folder))
    return any(_prefix_key(p.stem, "rain") is not None for p in list_images(folder)) or _sub(
        folder, _RAINY_FOLDERS) is not None


def _sub(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of the sub-folders ``names`` that exists and holds images."""
    return next((folder / n for n in names if (folder / n).is_dir() and list_images(folder / n)), None)


def _prefix_kind(root: Path, folder: Path) -> str:
    if _sub(folder, ("groundtruth",)) is not None and _sub(folder, ("rainy",)) is not None:
        return "rain12"
    name = f"{root.resolve().name} {folder.name}".lower()
    return "rain100h" if any(marker in name for marker in _HEAVY_NAMES) else "rain100l"


def _side_by_side_like(folder: Path) -> bool:
    files = list_images(folder)
    if not files or any(_prefix_key(p.stem, "rain") is not None for p in files):
        return False
    try:
        h, w = read_size(files[0])
    except DataError:
        return False
    return w % 2 == 0 and 1.25 * h <= w <= 4 * h


# --- pairing by name --------------------------------------------------------------------------------------
def _prefix_key(stem: str, prefix: str, bare: bool = False) -> int | None:
    """N of ``<prefix>-N`` (or of a bare ``N`` where ``bare``), else None."""
    match = re.fullmatch(rf"(?:{prefix}-)?(\d+)" if bare else rf"{prefix}-(\d+)", stem, flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


def _find_prefix(kind: str, root: Path, folder: Path) -> DerainFiles:
    """In the folder an image is ``rain-N`` or ``norain-N``; in a rainy (clean) sub-folder also a bare ``N``."""
    roles = [(folder, (("rain", False), ("norain", False)))]
    roles += [(sub, ((prefix, True),)) for sub, prefix in
              ((_sub(folder, _RAINY_FOLDERS), "rain"), (_sub(folder, _CLEAN_FOLDERS), "norain")) if sub]
    keyed: dict[str, list[tuple[Key, Path]]] = {"rain": [], "norain": []}
    misnamed: list[Path] = []
    for where, fits in roles:
        for path in list_images(where):
            role = next((prefix for prefix, bare in fits if _prefix_key(path.stem, prefix, bare) is not None), None)
            if role is None:
                misnamed.append(path)
            else:
                keyed[role].append((_prefix_key(path.stem, role, bare=True), path))
    return _pair_up(kind, root, folder, keyed["rain"], keyed["norain"], misnamed, "rain-N / norain-N (or N)")


def _find_ddn(kind: str, root: Path, folder: Path) -> DerainFiles:
    misnamed: list[Path] = []
    rainy = _keyed(list_images(folder / "rainy_image"), r"(\d+)_(\d+)", misnamed)
    clean = _keyed(list_images(folder / "ground_truth"), r"(\d+)", misnamed)
    return _pair_up(kind, root, folder, rainy, clean, misnamed, "N_M in rainy_image/, N in ground_truth/")


def _find_side_by_side(kind: str, root: Path, folder: Path) -> DerainFiles:
    files = sorted(list_images(folder), key=lambda p: (int(p.stem) if p.stem.isdigit() else float("inf"), p.name))
    return DerainFiles(kind, root, folder, [(p, p) for p in files], [], [])


def _keyed(paths: list[Path], pattern: str, misnamed: list[Path]) -> list[tuple[Key, Path]]:
    keyed = []
    for path in paths:
        match = re.fullmatch(pattern, path.stem)
        if match is None:
            misnamed.append(path)
        else:
            numbers = tuple(int(g) for g in match.groups())
            keyed.append((numbers if len(numbers) > 1 else numbers[0], path))
    return keyed


def _pair_up(kind: str, root: Path, folder: Path, rainy: list[tuple[Key, Path]], clean: list[tuple[Key, Path]],
             misnamed: list[Path], naming: str) -> DerainFiles:
    """(rainy, clean) in the rainy images' numeric order; a rainy image's clean one has its first number."""
    if not rainy:
        raise derain_error(folder, kind, "no rainy images found" + (
            f" ({len(misnamed)} images not named {naming}, e.g. {misnamed[0].name})" if misnamed else ""))
    problems = _duplicates(rainy, "rainy", root) + _duplicates(clean, "clean", root)
    by_key = dict(clean)
    first = [(key[0] if isinstance(key, tuple) else key, path) for key, path in sorted(rainy, key=lambda kp: kp[0])]
    lonely = [path for key, path in first if key not in by_key]
    if lonely:
        problems.append(f"{len(lonely)} rainy image(s) without their clean image (the one with the same N); add "
                        "the clean images or remove these: " + ", ".join(_relative(p, root) for p in lonely))
    if misnamed:
        problems.append(f"{len(misnamed)} image(s) not named {naming}; rename or move them away: "
                        + ", ".join(_relative(p, root) for p in sorted(misnamed)))
    used = {key for key, _ in first}
    unpaired = [path for key, path in sorted(clean, key=lambda kp: kp[0]) if key not in used]
    pairs = [(path, by_key[key]) for key, path in first if key in by_key]
    return DerainFiles(kind, root, folder, pairs, unpaired, problems)


def _duplicates(keyed: list[tuple[Key, Path]], role: str, root: Path) -> list[str]:
    seen: dict[Key, list[Path]] = {}
    for key, path in keyed:
        seen.setdefault(key, []).append(path)
    return [f"{role} images {' and '.join(_relative(p, root) for p in sorted(paths))} have the same number; "
            "remove one" for paths in seen.values() if len(paths) > 1]


_FINDERS: dict[str, Callable[[str, Path, Path], DerainFiles]] = {
    "prefix": _find_prefix, "rain1400": _find_ddn, "rain800": _find_side_by_side}


# --- decoding ---------------------------------------------------------------------------------------------
def _check_order(order: str, files: DerainFiles) -> None:
    if order not in PAIR_ORDERS:
        raise DataError(f"{files.folder}: pair order {order!r} is not one of {', '.join(PAIR_ORDERS)} (the "
                        "halves of a rain800 file left to right: gt = clean, lq = rainy); fix data.pair_order")


def _decode_shared(paths: list[Path], kind: str, color: bool) -> list[np.ndarray]:
    """Decode each distinct file once; a clean image used by several pairs is the same array object in each."""
    decoded: dict[Path, np.ndarray] = {}
    for path in paths:
        if path not in decoded:
            decoded[path] = _decode(path, kind, color)
    return [decoded[path] for path in paths]


def _raise_problems(files: DerainFiles, problems: list[str]) -> None:
    if problems:
        raise DataError(f"{files.root}: {len(problems)} problem(s): " + "; ".join(problems)
                        + f" (a {files.kind} folder: {DERAIN_LAYOUTS[files.kind]})")


def _decode(path: Path, kind: str, color: bool | None) -> np.ndarray:
    try:
        return read_image(path, color)
    except DataError as err:
        raise DataError(f"{err}; reading a {kind} folder laid out as {DERAIN_LAYOUTS[kind]}") from err


def _halves(image: np.ndarray, order: str) -> tuple[np.ndarray, np.ndarray]:
    """(clean, rainy) of a side-by-side file."""
    half = image.shape[1] // 2
    left, right = image[:, :half], image[:, half:]
    return (left, right) if order == "gt,lq" else (right, left)


def _rel(path: Path, files: DerainFiles) -> str:
    return _relative(path, files.root)


def _relative(path: Path, folder: Path) -> str:
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
