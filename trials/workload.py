"""Everything a trial reads, loaded and checked up front so bad data fails before any training starts."""

from dataclasses import dataclass
from pathlib import Path

from trials.config import TrialConfig
from trials.data import (
    DataError,
    ImageSet,
    PatchSampler,
    denoise_pairs,
    load_search_set,
    load_test_sets,
    split_search,
    sr_pairs,
)

Pairs = list[tuple]
# Folder names the SR benchmarks ship under (matched case-insensitively inside data.test_root).
BENCHMARK_FOLDERS = {"set5": ("Set5",), "set14": ("Set14",), "bsd100": ("BSD100", "B100"),
                     "urban100": ("Urban100",), "manga109": ("Manga109",)}


@dataclass
class Workload:
    train_w: PatchSampler
    train_a: PatchSampler
    val_pairs: Pairs
    search_images: ImageSet
    test_sets: dict[str, ImageSet]
    steps_per_epoch: int


def prepare(cfg: TrialConfig) -> Workload:
    space, search = cfg.space, cfg.search
    scale = space.scale
    sr = space.task == "sr"
    # Every crop the trial will take, search and retraining alike, must fit: fail now, not after the search.
    min_size = max(search.crop_size * scale, cfg.retrain.crop_size * max(cfg.retrain.scales if sr else (1,)))
    images = load_search_set(cfg.data.kind, cfg.data.root, task=space.task, color=cfg.data.color,
                             scales=sorted({scale, *cfg.retrain.scales}) if sr else (), min_size=min_size)
    if len(images.images) < 3:
        raise DataError(f"{cfg.data.root or 'built-in set'}: the search needs at least 3 images "
                        f"(Train W, Train A, Validation V), found {len(images.images)}")
    split = split_search(len(images.images), cfg.seed)
    check_channels(images, space.in_channels)
    w, a = (sampler(cfg, images, idx, name) for idx, name in ((split.train_w, "train_w"),
                                                              (split.train_a, "train_a")))
    val = [images.images[i] for i in split.val]
    if space.task == "denoise":
        val_pairs = [p for sigma in search.sigmas for p in denoise_pairs(val, sigma, cfg.seed)]
    else:
        lr = images.lr.get(scale)
        val_pairs = sr_pairs(val, scale, [lr[i] for i in split.val] if lr else None)
    steps = search.steps_per_epoch or -(-len(split.train_w) // search.batch_size)
    return Workload(w, a, val_pairs, images, load_tests(cfg), steps)


def sampler(cfg: TrialConfig, images: ImageSet, indices: list[int], stream: str) -> PatchSampler:
    space, search = cfg.space, cfg.search
    lr = images.lr.get(space.scale)
    return PatchSampler([images.images[i] for i in indices], space.task, search.crop_size, search.batch_size,
                        cfg.seed, scale=space.scale, sigmas=search.sigmas, stream=stream,
                        lr_images=[lr[i] for i in indices] if lr else None)


def load_tests(cfg: TrialConfig) -> dict[str, ImageSet]:
    data, task = cfg.data, cfg.space.task
    if task == "denoise":
        sources = {"bsd500": data.root} if data.kind == "bsd500" else None
    elif data.test_sets:
        sources = {name: test_folder(data.test_root, name) for name in data.test_sets}
    else:
        sources = None
    sets = load_test_sets(sources, task=task, color=data.color,
                          scales=cfg.retrain.scales if task == "sr" else ())
    if data.max_test_images:
        sets = {k: ImageSet(v.name, v.images[: data.max_test_images], v.names[: data.max_test_images],
                            {s: lr[: data.max_test_images] for s, lr in v.lr.items()}) for k, v in sets.items()}
    return sets


def test_folder(test_root: str | None, name: str) -> Path:
    """The folder of SR test set `name` under `test_root`, matched case-insensitively (Set5, set5, B100...)."""
    if test_root is None:
        raise DataError(f"data.test_sets names {name} but data.test_root is not set; point it at the folder "
                        f"holding {', '.join(BENCHMARK_FOLDERS.get(name, (name,)))}")
    root = Path(test_root)
    if not root.is_dir():
        raise DataError(f"{root}: data.test_root does not exist or is not a folder")
    wanted = {n.lower() for n in BENCHMARK_FOLDERS.get(name, (name,))}
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name.lower() in wanted:
            return child
    raise DataError(f"{root}: no folder for test set {name}; expected one of "
                    f"{', '.join(BENCHMARK_FOLDERS.get(name, (name,)))} with HR/ inside")


def check_channels(images: ImageSet, in_channels: int) -> None:
    channels = images.images[0].shape[2]
    if channels != in_channels:
        raise DataError(f"images have {channels} channel(s) but space.in_channels={in_channels}; "
                        f"set data.color={'true' if in_channels == 3 else 'false'} or space.in_channels={channels}")
