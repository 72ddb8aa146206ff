"""Train W / Train A / Validation V split of the search images (HiNAS Section 3.3)."""

import zlib
from typing import NamedTuple

import numpy as np

from trials.data.errors import DataError

VAL_FRACTION = 0.02
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
