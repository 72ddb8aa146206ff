"""Data for search, retraining and evaluation: images, degradations, patch batches, splits, folder checks.

Images are float32 numpy arrays in [0, 1], shape (H, W, C), C = 1 (gray, BT.601 luma) or 3 (RGB).

Entry points:
- ``DATA_KINDS`` (``trials.data.kinds``): every folder layout the loaders read, one registered entry each
  (name, label, layout, splits, folder names, published counts, options, reader and checker).
- ``load_search_set(kind="builtin", root=None, *, color, scales=(), min_size=0, modcrop=False,
  downsampling="matlab", options=None)``: an ``ImageSet`` with names and LR inputs for every scale > 1 in
  ``scales``: the folder's LR files, else downsampling (``downsample``: "matlab" or "torch"), aligned once
  (``ImageSet.pairs(scale)``). color: RGB (True) or gray (False). ``modcrop=True``: HR sides that are not
  multiples of a scale without LR files are cropped at load instead of being an error.
- ``load_test_sets(sources=None, *, color, scales=(), modcrop=False, downsampling="matlab", options=None) ->
  dict[name, ImageSet]``; ``sources`` maps kind -> folder, e.g. ``{"set5": "/data/Set5", "bsd68": ...}``;
  None is the built-in test set.
- Deraining (``trials.data.derain``): a paired set gives its rainy images as ``lr[1]`` (clean ones are
  ``images``); ``detect_derain_kind(root)`` (for ``--data ROOT``). Built-in smoke set:
  ``with_synthetic_rain(image_set, seed)`` (``add_rain``, ``rain_rng``: streaks fixed per (image index, seed)).
- Eval pairs: ``ImageSet.pairs(scale)`` ((rainy, clean) at scale 1 for a deraining set, (image, image) for others),
  ``denoise_pairs(images, sigma, seed)`` (noise fixed per image).
- Training: ``PatchSampler(pairs, ...).batch(step)`` and ``make_loader(sampler, start_step, num_workers)``;
  ``split_search(num_images, seed)`` (random, HiNAS) or ``split_ordered(num_images, weight_fraction)`` (file
  order, DLSR) -> W/A/V indices; ``make_split(name, ...)`` picks one by ``data.split``.
- ``check_folder(path, kind, scales=None, modcrop=False, options=None)`` -> report.
  Every data problem raises ``DataError``.
"""

from trials.data.check import check_folder
from trials.data.degrade import DOWNSAMPLINGS, Pair, bicubic_downsample, denoise_pairs, downsample, modcrop, upscale
from trials.data.derain import detect_derain_kind
from trials.data.errors import DataError
from trials.data.images import ImageSet, read_image, to_gray
from trials.data.kinds import DATA_KINDS, SEARCH, LoadOptions, set_labels, set_rank
from trials.data.patches import Crop, PatchSampler, make_loader
from trials.data.rain import add_rain, rain_rng, with_synthetic_rain
from trials.data.sources import load_search_set, load_test_sets
from trials.data.split import SPLITS, SearchSplit, make_split, split_ordered, split_search

__all__ = [
    "DATA_KINDS",
    "SEARCH",
    "DOWNSAMPLINGS",
    "LoadOptions",
    "set_labels",
    "set_rank",
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
    "downsample",
    "detect_derain_kind",
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
    "upscale",
    "with_synthetic_rain",
]
