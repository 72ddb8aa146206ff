"""Splits of the search images into Train W (weights), Train A (architecture) and Validation V.

- ``split_search`` ("random", HiNAS Section 3.3): shuffled thirds, V = 2%, W and A halves of the rest.
- ``split_ordered`` ("ordered", DLSR): file order; W = the first round(n * weight_fraction) images, A = from the
  last W image to the end, V = A. The authors train weights on DF2K images 1-3000 and alpha/beta on 3000-3450.
"""

import zlib
from typing import NamedTuple

import numpy as np

from trials.data.errors import DataError

VAL_FRACTION = 0.02
SPLITS = ("random", "ordered")  # data.split
_SPLIT_STREAM = zlib.crc32(b"search-split")


class SearchSplit(NamedTuple):
    """Image indices: W trains the weights, A the architecture, V picks the best supernet."""

    train_w: list[int]
    train_a: list[int]
    val: list[int]


def split_search(num_images: int, seed: int) -> SearchSplit:
    """V = 2% of the images (at least 1), the rest halved (W gets the odd one); shuffled by ``seed``."""
    if num_images < 3:
        raise DataError(f"the W/A/V split needs at least 3 search images, got {num_images}")
    order = np.random.Generator(np.random.PCG64([seed, _SPLIT_STREAM])).permutation(num_images).tolist()
    num_val = max(1, round(VAL_FRACTION * num_images))
    num_w = (num_images - num_val + 1) // 2
    return SearchSplit(
        sorted(order[:num_w]), sorted(order[num_w : num_images - num_val]), sorted(order[-num_val:])
    )


def split_ordered(num_images: int, weight_fraction: float) -> SearchSplit:
    """DLSR's split in file order: W = images [0, k), A = V = images [k - 1, n) with k = round(n * fraction).

    Image k - 1 is in both W and A, as image 3000 is in the authors' ranges 1-3000 and 3000-3450 (n = 3450,
    fraction 3000/3450). Needs 1 <= k <= n - 1, so that A has an image of its own.
    """
    if not 0 < weight_fraction < 1:
        raise DataError(f"data.weight_fraction must lie strictly between 0 and 1, got {weight_fraction}")
    num_w = round(num_images * weight_fraction)
    if not 1 <= num_w <= num_images - 1:
        raise DataError(
            f"the ordered split needs at least one image in Train W and one in Train A besides the image they "
            f"share; there are {num_images} search images, and data.weight_fraction={weight_fraction:g} gives Train "
            f"W round({num_images} x {weight_fraction:g}) = {num_w}; use more images or change data.weight_fraction"
        )
    train_a = list(range(num_w - 1, num_images))
    return SearchSplit(list(range(num_w)), train_a, list(train_a))


def make_split(name: str, num_images: int, seed: int, weight_fraction: float) -> SearchSplit:
    """The split ``data.split`` names: "random" (``split_search``) or "ordered" (``split_ordered``)."""
    if name == "random":
        return split_search(num_images, seed)
    if name == "ordered":
        return split_ordered(num_images, weight_fraction)
    raise DataError(f"unknown data.split {name!r}; valid: {', '.join(SPLITS)}")
