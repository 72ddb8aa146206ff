"""Synthetic rain for the built-in deraining smoke set: bright oriented streaks added to clean images.

Per image, one draw of: a dominant angle (within ``MAX_TILT_DEG`` of vertical, as wind tilts rain one way), a
streak length (``LENGTHS``, the motion blur of a falling drop during the exposure), a width, a seed density and a
brightness. Seeds are sparse points; each becomes a line of that length and angle with a Gaussian cross-section
(a motion-blurred drop), and the streak layer is added to every channel: rainy = clip(clean + streaks, 0, 1).
The layer is summed seed by seed in numpy, in a fixed order, so a (seed, image index) pair gives bit-identical
rain in every process and on every machine.

Rainy-vs-clean PSNR ([0, 1], all channels) on the built-in colour images at seed 0: search 20.7-26.2 dB (mean
23.1), test 26.4 (astronaut) and 23.3 (chelsea); on Y: search 22.1-27.6, test 27.8 and 24.6. Clearly visible,
lighter than Rain100H's heavy rain.
"""

import zlib

import numpy as np

from trials.data.images import ImageSet

MAX_TILT_DEG = 30.0
LENGTHS = (10, 30)  # px, inclusive
WIDTHS = (1.0, 2.0)  # px, the streak's full width (twice the Gaussian sigma)
DENSITIES = (0.0003, 0.0012)  # seeds per pixel
BRIGHTNESS = (0.35, 0.7)  # peak added to the clean image by the brightest streaks
_RAIN_STREAM = zlib.crc32(b"synthetic-rain")


def rain_rng(index: int, seed: int, stream: str = "synthetic-rain") -> np.random.Generator:
    """Rain generator of image ``index``: the same in every process; ``stream`` gives another independent set
    (e.g. test images, so no test image shares its rain pattern with the training image of the same index)."""
    stream_id = _RAIN_STREAM if stream == "synthetic-rain" else zlib.crc32(stream.encode())
    return np.random.Generator(np.random.PCG64([seed, stream_id, index]))


def add_rain(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, C) float32 clean image in [0, 1], C = 1 or 3 -> rainy image of the same shape."""
    streaks = rain_layer(clean.shape[:2], rng)
    return np.clip(clean + streaks[..., None], 0.0, 1.0).astype(np.float32)


def with_synthetic_rain(image_set: ImageSet, seed: int, stream: str = "synthetic-rain") -> ImageSet:
    """The set as a deraining set: ``lr[1]`` holds image i with ``add_rain(image, rain_rng(i, seed, stream))``."""
    rainy = [add_rain(image, rain_rng(i, seed, stream)) for i, image in enumerate(image_set.images)]
    return ImageSet(image_set.name, image_set.images, image_set.names, {**image_set.lr, 1: rainy})


def rain_layer(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 streak intensities for one image or patch; the draws below are the whole of its randomness.
    Seeds fall on the frame and on a margin of half a streak around it, so streaks enter from outside and a
    small training patch is as rainy as a whole image."""
    angle = np.deg2rad(rng.uniform(-MAX_TILT_DEG, MAX_TILT_DEG))
    length = int(rng.integers(LENGTHS[0], LENGTHS[1] + 1))
    width = rng.uniform(*WIDTHS)
    density = rng.uniform(*DENSITIES)
    brightness = rng.uniform(*BRIGHTNESS)
    kernel = line_kernel(length, angle, width)
    margin = kernel.shape[0] // 2
    outer = (shape[0] + 2 * margin, shape[1] + 2 * margin)
    count = int(rng.binomial(outer[0] * outer[1], density))
    ys, xs = rng.integers(0, outer[0], count), rng.integers(0, outer[1], count)
    values = rng.uniform(0.5, 1.0, count) * brightness  # drops nearer the camera are brighter
    return _splat(outer, kernel, ys, xs, values)[margin : margin + shape[0], margin : margin + shape[1]]


def line_kernel(length: int, angle: float, width: float) -> np.ndarray:
    """Square kernel of one streak through its centre: 1 on the line's axis, a Gaussian across it, 0 beyond its
    ends. ``angle`` in radians from vertical (positive leans the top to the right)."""
    radius = length // 2 + 2
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float32)
    along = yy * np.cos(angle) - xx * np.sin(angle)
    across = yy * np.sin(angle) + xx * np.cos(angle)
    sigma = width / 2.0
    kernel = np.exp(-(across**2) / (2 * sigma**2)) * (np.abs(along) <= length / 2)
    return kernel.astype(np.float32)


def _splat(shape: tuple[int, int], kernel: np.ndarray, ys: np.ndarray, xs: np.ndarray,
           values: np.ndarray) -> np.ndarray:
    """Sum ``value * kernel`` centred on every seed (a sparse convolution), cropped to ``shape``."""
    radius = kernel.shape[0] // 2
    canvas = np.zeros((shape[0] + 2 * radius, shape[1] + 2 * radius), dtype=np.float32)
    size = kernel.shape[0]
    for y, x, value in zip(ys.tolist(), xs.tolist(), values.tolist(), strict=True):
        canvas[y : y + size, x : x + size] += np.float32(value) * kernel
    return canvas[radius : radius + shape[0], radius : radius + shape[1]]
