"""Degradations: Gaussian noise (denoising) and bicubic downsampling (SR), and whole-image eval pairs.

Bicubic: torch ``F.interpolate(mode="bicubic", antialias=True, align_corners=False)`` on the HR image cropped
to a multiple of the scale. With antialias the kernel is stretched by the scale like MATLAB's ``imresize``
(a = -0.5 there, -0.75 here: values differ slightly from MATLAB-made LR files; LR found on disk is used).
Noise: std sigma/255 added to the clean [0, 1] image; the noisy input is NOT clipped, as in the paper's setup.
"""

import zlib

import numpy as np
import torch
import torch.nn.functional as F

from trials.data.errors import DataError

Pair = tuple[np.ndarray, np.ndarray]  # (network input, target)
_EVAL_NOISE_STREAM = zlib.crc32(b"eval-noise")


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


def add_noise(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma / 255.0)
    return clean + noise


def eval_rng(index: int, sigma: int, seed: int) -> np.random.Generator:
    """Noise generator of test image ``index`` at ``sigma``: the same in every run and process."""
    return np.random.Generator(np.random.PCG64([seed, _EVAL_NOISE_STREAM, sigma, index]))


def denoise_pairs(images: list[np.ndarray], sigma: int, seed: int = 0) -> list[Pair]:
    return [(add_noise(img, sigma, eval_rng(i, sigma, seed)), img) for i, img in enumerate(images)]


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
