"""Data for search, retraining and evaluation: images, degradations, patch batches, splits, folder checks.

Images are float32 numpy arrays in [0, 1], shape (H, W, C), C = 1 (gray, BT.601 luma) or 3 (RGB).

Entry points:
- ``load_search_images(kind="builtin", root=None, *, color, scales=(), min_size=0, modcrop=False,
  pair_order="gt,lq")``
  (``load_search_set`` gives the same as an ``ImageSet`` with names and LR inputs for every scale > 1 in
  ``scales``: the folder's LR files, else bicubic downsampling, aligned once; ``ImageSet.pairs(scale)``).
  kind: builtin | bsd500 | div2k | df2k | rain100l | rain100h | rain1400 | rain800. color: RGB (True) or gray
  (False). ``modcrop=True``: HR sides that are not multiples of a scale without LR files are cropped at load
  instead of being an error.
- ``load_test_sets(sources=None, *, color, scales=(), modcrop=False, pair_order="gt,lq") -> dict[name,
  ImageSet]``; ``sources`` maps kind -> folder, e.g. ``{"set5": "/data/Set5", "rain100h": "/data/Rain100H"}``;
  None is the built-in test set. Names: builtin, bsd200 (kind bsd500), set5, set14, bsd100, urban100, manga109,
  rain100l, rain100h, rain12, rain1400, rain800.
- Deraining (``trials.data.derain``, layouts in ``DERAIN_LAYOUTS``): the loaders above give the rainy images as
  ``lr[1]`` (clean ones are ``images``; ``pair_order`` is rain800's left,right halves); also
  ``load_derain_set(kind, root, *, color, order="gt,lq")``, ``detect_derain_kind(root)`` (for ``--data ROOT``),
  ``derain_test_folder(test_root, name)``. Built-in smoke set: ``with_synthetic_rain(image_set, seed)``
  (``add_rain``, ``rain_rng``: streaks fixed per (image index, seed)).
- Eval pairs: ``ImageSet.pairs(scale)`` ((rainy, clean) at scale 1 for a deraining set, (image, image) for others),
  ``denoise_pairs(images, sigma, seed)`` (noise fixed per image).
- Training: ``PatchSampler(pairs, ...).batch(step)`` and ``make_loader(sampler, start_step, num_workers)``;
  ``split_search(num_images, seed)`` (random, HiNAS) or ``split_ordered(num_images, weight_fraction)`` (file
  order, DLSR) -> W/A/V indices; ``make_split(name, ...)`` picks one by ``data.split``.
- ``check_folder(path, kind, scales=None, modcrop=False, pair_order="gt,lq")`` -> report; ``DATASET_KINDS``.
  Every data problem raises ``DataError``.
"""

from trials.data.check import DATASET_KINDS, check_folder
from trials.data.degrade import Pair, bicubic_downsample, denoise_pairs, modcrop
from trials.data.derain import (
    DERAIN_KINDS,
    DERAIN_LAYOUTS,
    derain_test_folder,
    detect_derain_kind,
    load_derain_set,
)
from trials.data.errors import DataError
from trials.data.images import ImageSet, read_image, to_gray
from trials.data.patches import Crop, PatchSampler, make_loader
from trials.data.rain import add_rain, rain_rng, with_synthetic_rain
from trials.data.sources import load_search_images, load_search_set, load_test_sets
from trials.data.split import SPLITS, SearchSplit, make_split, split_ordered, split_search

__all__ = [
    "DATASET_KINDS",
    "DERAIN_KINDS",
    "DERAIN_LAYOUTS",
    "SPLITS",
    "Crop",
    "DataError",
    "ImageSet",
    "Pair",
    "PatchSampler",
    "SearchSplit",
    "add_rain",
    "bicubic_downsample",
    "check_folder",
    "denoise_pairs",
    "derain_test_folder",
    "detect_derain_kind",
    "load_derain_set",
    "load_search_images",
    "load_search_set",
    "load_test_sets",
    "make_loader",
    "make_split",
    "modcrop",
    "rain_rng",
    "read_image",
    "split_ordered",
    "split_search",
    "to_gray",
    "with_synthetic_rain",
]
