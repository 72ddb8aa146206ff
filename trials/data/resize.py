"""MATLAB's ``imresize`` (bicubic, antialiased when shrinking) in numpy, so that LR inputs and the bicubic
reference row are made as the published SR tables made them (MATLAB-made LR differs from torch's
``F.interpolate``: another kernel, a = -0.75, and no rounding to 8 bits).

What MATLAB does, and this module with it: the cubic convolution kernel with a = -0.5; when shrinking by
s < 1 the kernel is stretched by 1/s (width 4/s, scaled by s), which antialiases; output pixel x (1-based) reads
input position u = x/s + 0.5 (1 - 1/s); taps past a border are mirrored (symmetric padding, the edge pixel
repeated); each output's weights are normalised to sum 1; the dimension with the smaller scale goes first
(rows first for equal scales). Computed in float64 with no rounding inside: MATLAB rounds a uint8 image's
result once at the end, which ``to_uint8_levels`` does here.
"""

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (support [-2, 2])."""
    ax = np.abs(x)
    near = (1.5 * ax**3 - 2.5 * ax**2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax**3 + 2.5 * ax**2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def _taps(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), both (out_len, taps): the 0-based input pixels each output pixel mixes, and how."""
    stretch = min(scale, 1.0)  # shrinking: kernel widened by 1/scale (antialiasing)
    width = 4.0 / stretch
    u = np.arange(1, out_len + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)  # 1-based positions
    first = np.floor(u - width / 2.0)  # 1-based leftmost tap
    pos = first[:, None] + np.arange(math.ceil(width) + 2)[None, :]  # 1-based tap positions, maybe off the image
    weights = stretch * _cubic(stretch * (u[:, None] - pos))
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])  # 0..n-1, n-1..0: symmetric padding
    indices = mirror[np.mod(pos - 1, 2 * in_len).astype(np.int64)]
    used = np.any(weights != 0, axis=0)  # drop columns that are zero for every output, as MATLAB does
    return indices[:, used], weights[:, used]


def _resize_axis(image: np.ndarray, axis: int, scale: float) -> np.ndarray:
    """Resize one axis: gather each tap's input rows (or columns) and add them up, weighted."""
    lines = np.moveaxis(image, axis, 0)  # (in_len, ...)
    indices, weights = _taps(lines.shape[0], math.ceil(lines.shape[0] * scale), scale)
    extra = (1,) * (lines.ndim - 1)  # broadcast a weight column over the other axes
    out = sum(weights[:, t].reshape(-1, *extra) * lines[indices[:, t]] for t in range(indices.shape[1]))
    return np.moveaxis(out, 0, axis)


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """(H, W, C) float -> (ceil(H scale), ceil(W scale), C) float32 by MATLAB's bicubic ``imresize(image,
    scale)``; computed in float64, not rounded or clipped (values keep their range, overshoot included)."""
    out = np.ascontiguousarray(image, dtype=np.float64)
    for axis in (0, 1):  # one scale for both: MATLAB goes rows (dimension 1) first
        out = _resize_axis(out, axis, scale)
    return out.astype(np.float32)


def to_uint8_levels(image: np.ndarray) -> np.ndarray:
    """Clipped to [0, 1] and rounded to the nearest of the 256 8-bit levels, half away from zero as MATLAB's
    uint8 conversion (floor(255 x + 0.5) on the non-negative values), as float32."""
    return (np.floor(np.clip(image.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5) / 255.0).astype(np.float32)


def matlab_bicubic_downsample(hr: np.ndarray, scale: int) -> np.ndarray:
    """The literature's LR image: ``hr`` cropped bottom/right to multiples of ``scale`` (modcrop), shrunk by
    1/scale with MATLAB's antialiased bicubic, rounded to 8 bits (as imresize of a uint8 image)."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    return to_uint8_levels(imresize(hr[:h, :w], 1.0 / scale))


def matlab_bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The literature's bicubic row: ``lr`` enlarged by ``scale`` with MATLAB's bicubic, rounded to 8 bits."""
    return to_uint8_levels(imresize(lr, float(scale)))
