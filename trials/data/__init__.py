"""Data for search, retraining and evaluation: images, degradations, patch batches, splits, folder checks.

Images are float32 numpy arrays in [0, 1], shape (H, W, C), C = 1 (gray, BT.601 luma) or 3 (RGB).

Entry points:
- ``load_search_images(kind="builtin", root=None, *, color, scales=(), min_size=0, modcrop=False)``
  (``load_search_set`` gives the same as an ``ImageSet`` with names and LR inputs for every scale > 1 in
  ``scales``: the folder's LR files, else bicubic downsampling, aligned once; ``ImageSet.pairs(scale)``).
  kind: builtin | bsd500 | div2k | df2k. color: RGB (True) or gray (False). ``modcrop=True``: HR sides that are
  not multiples of a scale without LR files are cropped at load instead of being an error.
- ``load_test_sets(sources=None, *, color, scales=(), modcrop=False) -> dict[name, ImageSet]``; ``sources`` maps
  kind -> folder, e.g. ``{"set5": "/data/Set5", "set14": "/data/Set14"}``; None is the built-in test set.
  Names: builtin, bsd200 (kind bsd500), set5, set14, bsd100, urban100, manga109.
- Eval pairs: ``ImageSet.pairs(scale)``, ``denoise_pairs(images, sigma, seed)`` (noise fixed per image).
- Training: ``PatchSampler(pairs, ...).batch(step)`` and ``make_loader(sampler, start_step, num_workers)``;
  ``split_search(num_images, seed)`` (random, HiNAS) or ``split_ordered(num_images, weight_fraction)`` (file
  order, DLSR) -> W/A/V indices; ``make_split(name, ...)`` picks one by ``data.split``.
- ``check_folder(path, kind, scales=None, modcrop=False)`` -> report; ``DATASET_KINDS``.
  Every data problem raises ``DataError``.
"""

from trials.data.check import DATASET_KINDS, check_folder
from trials.data.degrade import Pair, bicubic_downsample, denoise_pairs, modcrop
from trials.data.errors import DataError
from trials.data.images import ImageSet, read_image, to_gray
from trials.data.patches import Crop, PatchSampler, make_loader
from trials.data.sources import load_search_images, load_search_set, load_test_sets
from trials.data.split import SPLITS, SearchSplit, make_split, split_ordered, split_search

__all__ = [
    "DATASET_KINDS",
    "SPLITS",
    "Crop",
    "DataError",
    "ImageSet",
    "Pair",
    "PatchSampler",
    "SearchSplit",
    "bicubic_downsample",
    "check_folder",
    "denoise_pairs",
    "load_search_images",
    "load_search_set",
    "load_test_sets",
    "make_loader",
    "make_split",
    "modcrop",
    "read_image",
    "split_ordered",
    "split_search",
    "to_gray",
]
