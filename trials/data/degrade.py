"""Degradations: Gaussian noise (denoising) and bicubic downsampling (SR), and whole-image eval pairs.

Bicubic, "torch": ``F.interpolate(mode="bicubic", antialias=True, align_corners=False)`` on the HR image cropped
to a multiple of the scale: MATLAB's kernel (a = -0.5, stretched by the scale) away from the borders, but the
weights cut off at a border renormalised instead of mirrored, and no rounding to 8 bits; its upscaling (no
antialias) uses a = -0.75, which reads 0.13-0.3 dB above MATLAB's bicubic row. LR found on disk is used.
``downsample`` picks the kernel by name (``data.downsampling``): "matlab" (``trials.data.resize``: MATLAB's
``imresize``, antialiased, LR rounded to 8 bits, as the published LR files and tables) or "torch" (the above).
Noise: std sigma/255 added to the clean [0, 1] image; the noisy input is not clipped (as in the paper's setup
and DnCNN's published rows) unless asked (``task.clip_noise``).
"""

import zlib

import numpy as np
import torch
import torch.nn.functional as F

from trials.data.errors import DataError
from trials.data.resize import matlab_bicubic_downsample, matlab_bicubic_upscale

Pair = tuple[np.ndarray, np.ndarray]  # (network input, target)
_EVAL_NOISE_STREAM = zlib.crc32(b"eval-noise")
DEFAULT_DOWNSAMPLING = "matlab"


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop bottom/right so height and width are multiples of ``scale`` (LR pixels then tile HR exactly)."""
    h, w = image.shape[0] // scale * scale, image.shape[1] // scale * scale
    return image[:h, :w]


def bicubic_downsample(hr: np.ndarray, scale: int) -> np.ndarray:
    """(H, W, C) -> (H // scale, W // scale, C), the one LR degradation used everywhere."""
    hr = modcrop(hr, scale)
    tensor = torch.from_numpy(np.ascontiguousarray(hr.transpose(2, 0, 1)))[None]
    size = (hr.shape[0] // scale, hr.shape[1] // scale)
    lr = F.interpolate(tensor, size=size, mode="bicubic", antialias=True, align_corners=False)
    return lr[0].numpy().transpose(1, 2, 0).astype(np.float32)


def downsample(hr: np.ndarray, scale: int, method: str = DEFAULT_DOWNSAMPLING) -> np.ndarray:
    """The LR input of ``hr`` at ``scale`` by the named kernel (``DOWNSAMPLINGS``)."""
    if method not in DOWNSAMPLINGS:
        raise ValueError(f"unknown downsampling {method!r}; valid: {', '.join(DOWNSAMPLINGS)}")
    return DOWNSAMPLINGS[method](hr, scale)


def add_noise(clean: np.ndarray, sigma: float, rng: np.random.Generator, clip: bool = False) -> np.ndarray:
    """``clip``: the noisy image clipped to [0, 1] (an 8-bit camera's); False: as DnCNN's published rows."""
    noisy = clean + rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma / 255.0)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


def eval_rng(index: int, sigma: int, seed: int) -> np.random.Generator:
    """Noise generator of test image ``index`` at ``sigma``: the same in every run and process."""
    return np.random.Generator(np.random.PCG64([seed, _EVAL_NOISE_STREAM, sigma, index]))


def denoise_pairs(images: list[np.ndarray], sigma: int, seed: int = 0, clip: bool = False) -> list[Pair]:
    return [(add_noise(img, sigma, eval_rng(i, sigma, seed), clip), img) for i, img in enumerate(images)]


def upscale(lr: np.ndarray, scale: int, method: str = DEFAULT_DOWNSAMPLING) -> np.ndarray:
    """Bicubic upscaling by the kernel ``method`` names (``matlab``: imresize, rounded to 8 bits as the
    literature's bicubic rows; ``torch``: F.interpolate, float)."""
    if method == "matlab":
        return matlab_bicubic_upscale(lr, scale)
    x = torch.from_numpy(np.ascontiguousarray(lr.transpose(2, 0, 1)))[None]
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    return up[0].numpy().transpose(1, 2, 0)


def align_lr(lr: np.ndarray, hr: np.ndarray, scale: int) -> Pair:
    """Match an LR file to its HR image: LR of H//s or ceil(H/s) rows (both conventions exist) -> H//s."""
    hr = modcrop(hr, scale)
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    if not (h <= lr.shape[0] <= h + 1 and w <= lr.shape[1] <= w + 1) or lr.shape[2] != hr.shape[2]:
        raise DataError(
            f"LR image {lr.shape} does not match HR {hr.shape} at x{scale}: expected about ({h}, {w}), as HR is "
            f"LR x {scale} plus fewer than {scale} px; fix the pair, or remove the LR folder to have LR made by "
            "bicubic downsampling"
        )
    return lr[:h, :w], hr


DOWNSAMPLINGS = {"matlab": matlab_bicubic_downsample, "torch": bicubic_downsample}
