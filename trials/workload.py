"""Everything a trial reads, loaded and checked up front so bad data fails before any training starts."""

import hashlib
from dataclasses import dataclass

from trials.config import TrialConfig, retrain_input_crop
from trials.data import (
    DataError,
    ImageSet,
    Pair,
    PatchSampler,
    SearchSplit,
    load_search_set,
    load_test_sets,
    make_split,
)


@dataclass
class Workload:
    train_w: PatchSampler
    train_a: PatchSampler
    val_pairs: list[Pair]
    search_images: ImageSet  # every search image, inputs aligned for every scale the trial uses
    test_sets: dict[str, ImageSet]
    steps_per_epoch: int

    def datasets(self, cfg: TrialConfig) -> list[dict[str, str]]:
        """The data sets as tracked inputs: name, where they come from, a digest of the decoded pixels (a
        changed, added or removed image changes it) and the context they serve in (train or test)."""
        sets = [("train", self.search_images, cfg.data.root)]
        sets += [("test", image_set, None) for image_set in self.test_sets.values()]
        return [{"name": image_set.name, "digest": pixel_digest(image_set), "context": context,
                 "source": str(root or cfg.data.root or "built-in images"), "images": str(len(image_set.images))}
                for context, image_set, root in sets]


def pixel_digest(image_set: ImageSet) -> str:
    digest = hashlib.sha256()
    for name, image in zip(image_set.names, image_set.images, strict=True):
        digest.update(name.encode())
        digest.update(str(image.shape).encode())
        digest.update(image.tobytes())
    return digest.hexdigest()[:16]


def largest_crop(cfg: TrialConfig) -> int:
    """The side every search image needs: the largest crop (in its own pixels) the search or any retraining
    takes. Every crop must fit: checked at load, and by the driver before Ray starts, not after the search."""
    task = cfg.components.task
    return max(cfg.search.crop_size * task.search_io().scale,
               *(retrain_input_crop(cfg, c) * task.io(c).scale for c in task.conditions()))


def prepare(cfg: TrialConfig) -> Workload:
    task = cfg.components.task
    images = load_search_set(cfg.data.kind, cfg.data.root, color=cfg.task.color, scales=task.scales(),
                             min_size=largest_crop(cfg), modcrop=cfg.data.modcrop, downsampling=cfg.data.downsampling,
                             options=cfg.data.options)
    images = task.with_inputs(images, "search")
    split = search_split(cfg, len(images.images))
    w, a = (task.sampler(images.subset(idx), cfg.search.crop_size, cfg.search.batch_size, cfg.seed, stream)
            for idx, stream in ((split.train_w, "train_w"), (split.train_a, "train_a")))
    val_pairs = task.val_pairs(images.subset(split.val), cfg.seed)
    steps = cfg.search.steps_per_epoch or -(-len(split.train_w) // cfg.search.batch_size)
    tests = load_tests(cfg)
    check_input_sizes(cfg, val_pairs, tests)
    return Workload(w, a, val_pairs, images, tests, steps)


def search_split(cfg: TrialConfig, count: int) -> SearchSplit:
    """``data.split`` of ``count`` search images, or a DataError naming the folder: also the driver's check
    before Ray starts (from the file names alone), so a folder too small for the split fails there."""
    where = cfg.data.root or "built-in set"
    if cfg.data.split == "random" and count < 3:
        raise DataError(f"{where}: the search needs at least 3 images (Train W, Train A, Validation V), "
                        f"found {count}")
    try:
        return make_split(cfg.data.split, count, cfg.seed, cfg.data.weight_fraction)
    except DataError as err:
        raise DataError(f"{where}: {err}") from None


def check_input_sizes(cfg: TrialConfig, val_pairs: list[Pair], tests: dict[str, ImageSet]) -> None:
    """Whole validation and test inputs are at least what the space's networks accept (DLSR: 15 px)."""
    minimum, task = cfg.components.space.min_input_size, cfg.components.task
    if minimum <= 1:
        return
    inputs = [("validation", i, pair[0]) for i, pair in enumerate(val_pairs)]
    for name, image_set in tests.items():
        for condition in task.conditions():
            pairs = task.test_pairs(image_set, condition, cfg.seed)
            inputs += [(f"test set {name}", image_set.names[i], pair[0]) for i, pair in enumerate(pairs)]
    small = [f"{where} image {which} ({x.shape[0]}x{x.shape[1]})" for where, which, x in inputs
             if min(x.shape[:2]) < minimum]
    if small:
        raise DataError(f"inputs below the {minimum} px the {cfg.space.name} space's networks need: "
                        f"{', '.join(small[:10])}{' ...' if len(small) > 10 else ''}; remove these images")


def load_tests(cfg: TrialConfig) -> dict[str, ImageSet]:
    task = cfg.components.task
    sets = load_test_sets(task.test_sources(cfg.data), color=cfg.task.color, scales=task.scales(),
                          modcrop=cfg.data.modcrop, downsampling=cfg.data.downsampling, options=cfg.data.options)
    n = cfg.data.max_test_images
    sets = {k: v.subset(list(range(min(n, len(v.images))))) for k, v in sets.items()} if n else sets
    return {k: task.with_inputs(v, "test") for k, v in sets.items()}
