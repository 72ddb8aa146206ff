"""The default data set: scikit-image's bundled photographs (no network), small enough for a 2-core CPU.

Fixed lists, so every machine gets the same split. Images are downscaled (anti-aliased) to a longest side of
``BUILTIN_MAX_SIDE`` px. Test images never appear in the search/train lists.
- colour (SR, colour denoising): search = COLOR_SEARCH, test = COLOR_TEST;
- gray (denoising): search = GRAY_SEARCH (the colour search photos in gray, plus gray photos),
  test = GRAY_TEST.
"""

from functools import cache

import numpy as np
from skimage import data as skdata
from skimage.transform import resize

from trials.data.images import ImageSet, as_color

BUILTIN_MAX_SIDE = 256
COLOR_SEARCH = ("coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
COLOR_TEST = ("astronaut", "chelsea")
GRAY_SEARCH = COLOR_SEARCH + ("moon", "brick", "grass", "gravel", "cell", "clock", "text", "page")
GRAY_TEST = COLOR_TEST + ("camera", "coins")


def builtin_set(split: str, color: bool) -> ImageSet:
    """``split`` is 'search' or 'test'; decoded once per process, each call gets its own copies."""
    lists = {("search", True): COLOR_SEARCH, ("test", True): COLOR_TEST}
    lists |= {("search", False): GRAY_SEARCH, ("test", False): GRAY_TEST}
    names = lists[(split, color)]
    return ImageSet("builtin", [_builtin_image(name, color).copy() for name in names], names)


@cache
def _builtin_image(name: str, color: bool) -> np.ndarray:
    pixels = np.asarray(getattr(skdata, name)(), dtype=np.float32) / 255.0
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels[..., :3]
    image = as_color(_shrink(pixels), color)
    image.flags.writeable = False
    return image


def _shrink(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    factor = BUILTIN_MAX_SIDE / max(h, w)
    if factor >= 1:
        return image
    shape = (round(h * factor), round(w * factor), image.shape[2])
    return np.clip(resize(image, shape, anti_aliasing=True), 0, 1).astype(np.float32)
