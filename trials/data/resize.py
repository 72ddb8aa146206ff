"""MATLAB's ``imresize`` (bicubic, antialiased when shrinking) in numpy, so that LR inputs and the bicubic
reference row are made as the published SR tables made them.

MATLAB: cubic kernel with a = -0.5; when shrinking by s < 1 the kernel is stretched by 1/s (width 4/s), which
antialiases; output pixel x (1-based) maps to input u = x/s + 0.5 (1 - 1/s); taps beyond the border are
mirrored (symmetric padding); weights are normalised to sum 1; the dimension with the smaller scale is resized
first. On uint8 images MATLAB rounds the result to 8 bits; ``to_uint8_levels`` does that here.
"""

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (out_len, taps): the input pixels each output pixel mixes and their weights."""
    stretch = scale if scale < 1 else 1.0  # antialiasing: the kernel widens by 1/scale when shrinking
    width = 4.0 / stretch
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + np.arange(taps)[None, :] - 1  # 0-based
    weights = stretch * _cubic(stretch * (u[:, None] - indices - 1))
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])  # symmetric padding
    indices = mirrored[np.mod(indices, 2 * in_len).astype(np.int64)]
    keep = np.any(weights != 0, axis=0)  # drop taps that are zero for every output pixel
    return indices[:, keep], weights[:, keep]


def _resize_axis(image: np.ndarray, axis: int, scale: float) -> np.ndarray:
    in_len = image.shape[axis]
    out_len = math.ceil(in_len * scale)
    indices, weights = _contributions(in_len, out_len, scale)
    moved = np.moveaxis(image, axis, 0)  # (in_len, ...)
    gathered = moved[indices]  # (out_len, taps, ...)
    out = np.einsum("ot...,ot->o...", gathered, weights)
    return np.moveaxis(out, 0, axis)


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """(H, W, C) float -> (ceil(H scale), ceil(W scale), C) float32, MATLAB's bicubic; computed in float64,
    not rounded."""
    out = image.astype(np.float64)
    for axis in (0, 1):  # equal scales on both axes: MATLAB resizes rows (dimension 1) first
        out = _resize_axis(out, axis, scale)
    return out.astype(np.float32)


def to_uint8_levels(image: np.ndarray) -> np.ndarray:
    """Rounded to the nearest 8-bit level (half away from zero, as MATLAB's uint8 conversion), as float32."""
    return (np.floor(np.clip(image, 0.0, 1.0) * 255.0 + 0.5) / 255.0).astype(np.float32)


def matlab_bicubic_downsample(hr: np.ndarray, scale: int) -> np.ndarray:
    """The literature's LR image: ``hr`` modcropped to multiples of ``scale``, shrunk by MATLAB's antialiased
    bicubic, rounded to 8 bits."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    return to_uint8_levels(imresize(hr[:h, :w], 1.0 / scale))


def matlab_bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The literature's bicubic row: ``lr`` enlarged by MATLAB's bicubic, rounded to 8 bits."""
    return to_uint8_levels(imresize(lr, float(scale)))
