"""``check_folder``: what a data folder holds, or a DataError saying what is wrong, before anything trains."""

from collections.abc import Sequence
from pathlib import Path

from trials.data.builtin import builtin_set
from trials.data.derain import (
    DERAIN_KINDS,
    PAIR_ORDERS,
    DerainFiles,
    derain_splits,
    file_sizes,
    find_derain_files,
    size_problems,
)
from trials.data.errors import DataError
from trials.data.images import ImageSet
from trials.data.readers import (
    LAYOUTS,
    SR_FOLDER_KINDS,
    FoundFiles,
    decode,
    find_files,
    indivisible_problem,
    lr_problem,
)

DATASET_KINDS = (*LAYOUTS, *DERAIN_KINDS)
REPORT_SCALES = (2, 3, 4)  # the SR scales a report looks at when no scales are given
EXPECTED_COUNTS = {"bsd500": {"search": 300, "test": 200}, "div2k": {"search": 800}, "set5": {"test": 5}}
EXPECTED_COUNTS |= {"df2k": {"search": 3450}}
EXPECTED_COUNTS |= {"set14": {"test": 14}, "bsd100": {"test": 100}, "urban100": {"test": 100}}
EXPECTED_COUNTS |= {"manga109": {"test": 109}}
# Pairs in the published deraining sets, training and test folders (RainTrainH: 1254 after PReNet's exclusion).
DERAIN_COUNTS = {"rain100h": (1254, 1800, 100), "rain100l": (200, 100), "rain12": (12,),
                 "rain1400": (12600, 1400), "rain800": (700, 100)}


def check_folder(
    path: Path | str | None,
    kind: str,
    *,
    scales: Sequence[int] | None = None,
    modcrop: bool = False,
    pair_order: str = "gt,lq",
) -> str:
    """Decode every image (one at a time, nothing kept) and report counts, sizes and LR scales found; a
    DataError naming every file that cannot be decoded, not just the first.

    ``scales``: those a trial needs (``data.modcrop`` = ``modcrop``); what the loader would refuse at them (an
    LR folder without ``X{s}``, HR sides that are not multiples of s without LR files) is in the DataError too.
    None: those problems at x2, x3, x4 (and any LR scale found) are report lines, for SR folders.
    Deraining kinds (``pair_order`` for rain800's halves): pairs, sizes and unpaired clean images per split found;
    the DataError names every corrupt file, rainy image without its clean one and pair of different sizes.
    """
    if kind == "builtin":
        return "\n".join(["builtin: scikit-image sample photographs (no folder)"] + _builtin_lines())
    if kind in DERAIN_KINDS:
        if path is None:
            raise DataError(f"no folder given for the {kind} data set; pass its path")
        return _check_derain(Path(path), kind, scales, pair_order)
    found = find_files(kind, Path(path))
    bad: list[str] = []
    lines = [f"{kind} at {found.root}"]
    hr = {split: _shapes(files, kind, bad) for split, files in found.splits.items()}
    for split, shapes in hr.items():
        lines.append(_split_line(split, [shape for _, shape in shapes], kind))
    for scale, files in found.lr.items():
        lines.append(f"  LR x{scale}: {len(files)} files, {_size_range([s for _, s in _shapes(files, kind, bad)])}")
    problems = [f"{len(bad)} image(s) cannot be decoded; replace or delete them: " + "; ".join(bad)] if bad else []
    at_scales = _scale_problems(found, kind, hr, _report_scales(found, kind) if scales is None else scales, modcrop)
    if scales is not None:
        problems += [problem for _, problem in at_scales]
    if problems:
        raise DataError(f"{found.root}: " + "; ".join(problems))
    if not found.lr and kind in SR_FOLDER_KINDS and not any(f.scales is not None for f in found.lr_folders):
        lines.append("  LR: none on disk; made by bicubic downsampling")
    lines += [f"  x{scale} not usable as is: {problem}" for scale, problem in at_scales]
    return "\n".join(lines)


def _check_derain(root: Path, kind: str, scales: Sequence[int] | None, pair_order: str) -> str:
    if scales is not None and any(s != 1 for s in scales):
        raise DataError(f"{root}: {kind} is a deraining set, its pairs are at scale 1 only; scales "
                        f"{tuple(scales)} were asked for")
    if pair_order not in PAIR_ORDERS:
        raise DataError(f"{root}: pair order {pair_order!r} is not one of {', '.join(PAIR_ORDERS)}; fix "
                        "data.pair_order")
    lines, problems = [f"{kind} at {root}"], []
    for split in derain_splits(kind, root):
        files = find_derain_files(kind, root, split)
        shapes, bad = file_sizes(files, decode=True)
        problems += files.problems + bad + size_problems(files, shapes)
        lines += _derain_lines(files, shapes, split)
    if problems:
        raise DataError(f"{root}: {len(problems)} problem(s); fix or remove these files: " + "; ".join(problems))
    return "\n".join(lines)


def _derain_lines(files: DerainFiles, shapes: dict[Path, tuple[int, ...]], split: str | None) -> list[str]:
    where = "" if files.folder == files.root else f" ({files.folder.name}/)"
    expected = DERAIN_COUNTS[files.kind]
    note = f" (the published sets have {' or '.join(map(str, expected))})" if len(files.pairs) not in expected else ""
    sides = [shapes[rainy] for rainy, _ in files.pairs if rainy in shapes]
    if files.kind == "rain800":
        sides = [(s[0], s[1] // 2, *s[2:]) for s in sides]
        lines = [f"  {split or 'pairs'}{where}: {len(files.pairs)} side-by-side pairs{note}, each half "
                 f"{_size_range(sides)}"]
    else:
        cleans = len({clean for _, clean in files.pairs})
        lines = [f"  {split or 'pairs'}{where}: {len(files.pairs)} rainy image(s){note} of {cleans} clean images, "
                 f"{_size_range(sides)}"]
    if files.unpaired_clean:
        names = ", ".join(p.name for p in files.unpaired_clean[:5]) + (", ..." if len(files.unpaired_clean) > 5 else "")
        lines.append(f"  {len(files.unpaired_clean)} clean image(s) without a rainy one, not used: {names}")
    return lines


def _report_scales(found: FoundFiles, kind: str) -> tuple[int, ...]:
    if kind not in SR_FOLDER_KINDS:
        return ()
    return tuple(sorted({*REPORT_SCALES, *(s for f in found.lr_folders for s in f.scales or ())}))


def _scale_problems(found: FoundFiles, kind: str, hr: dict[str, list[tuple[Path, tuple[int, ...]]]],
                    scales: Sequence[int], modcrop: bool) -> list[tuple[int, str]]:
    """(scale, problem) for what ``load_search_set``/``load_test_sets`` would refuse at each scale."""
    found_problems = []
    for scale in scales:
        problem = lr_problem(found, scale)
        if problem is None and not modcrop:
            problem = "; ".join(p for shapes in hr.values() if (p := indivisible_problem(found, kind, shapes, scale)))
        if problem:
            found_problems.append((scale, problem))
    return found_problems


def _shapes(files: list[Path], kind: str, bad: list[str]) -> list[tuple[Path, tuple[int, ...]]]:
    """(path, shape) of the files that decode; one line per file that does not goes to ``bad``."""
    shapes = []
    for path in files:
        try:
            shapes.append((path, decode(path, kind, color=None).shape))
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
