"""Report metrics (PSNR, SSIM through scikit-image) and running a network on a whole image, optionally tiled.

A task's ``Protocol`` says what is compared: all channels of the output clipped to [0, 1] (denoising), or the
BT.601 Y channel with ``shave`` pixels cut from each border (SR: ``scale`` px, the EDSR/BasicSR convention).
"""

from dataclasses import dataclass

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

# ITU-R BT.601 studio-swing luma on [0, 1] RGB: Y in [16/255, 235/255]
Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64) / 255.0
Y_OFFSET = 16.0 / 255.0


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    return float(peak_signal_noise_ratio(_clip(target), _clip(pred), data_range=1.0))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """(H, W, C) images; per-channel Gaussian SSIM averaged over channels."""
    return float(
        structural_similarity(
            _clip(target),
            _clip(pred),
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            channel_axis=2,
        )
    )


@dataclass(frozen=True)
class Protocol:
    """How one output is scored against its target."""

    y_channel: bool = False  # colour images compared on BT.601 Y (gray ones as they are)
    shave: int = 0  # pixels cut from each border before comparing


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1] -> (H, W, 1) BT.601 Y in [16/255, 235/255]."""
    return (image.astype(np.float64) @ Y_WEIGHTS + Y_OFFSET)[..., None]


def view(image: np.ndarray, protocol: Protocol) -> np.ndarray:
    """What the metrics compare under ``protocol``: Y of colour images if asked, the border shaved."""
    if protocol.y_channel and image.shape[2] == 3:
        image = rgb_to_y(_clip(image))
    s = protocol.shave
    return image[s:-s, s:-s] if s > 0 else image


def evaluate(pred: np.ndarray, target: np.ndarray, protocol: Protocol) -> tuple[float, float]:
    """(PSNR, SSIM) of one output against its clean/HR target."""
    return psnr(view(pred, protocol), view(target, protocol)), ssim(view(pred, protocol), view(target, protocol))


def _clip(image: np.ndarray) -> np.ndarray:
    return np.clip(image.astype(np.float64), 0.0, 1.0)


@torch.no_grad()
def run_on_image(
    net: torch.nn.Module, image: np.ndarray, scale: int = 1, tile: int | None = None, overlap: int = 16
) -> np.ndarray:
    """Apply ``net`` ((1, C, H, W) -> (1, C', sH, sW)) to an (H, W, C) image; returns (sH, sW, C') float32.

    With ``tile``, the input is cut into tile x tile windows overlapping by ``overlap`` px (the last one flush
    with the border) and the outputs are averaged where they overlap, to bound memory on large images.
    """
    device = next(net.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device)
    if tile is None or max(x.shape[-2:]) <= tile:
        return _to_image(net(x))
    return _to_image(_run_tiled(net, x, scale, tile, overlap))


def _run_tiled(net: torch.nn.Module, x: torch.Tensor, scale: int, tile: int, overlap: int) -> torch.Tensor:
    """Sums in float64 so that averaging identical overlapping values gives them back exactly."""
    out_size = (x.shape[2] * scale, x.shape[3] * scale)
    total, count = None, torch.zeros(1, 1, *out_size, dtype=torch.float64)
    for y0 in _starts(x.shape[2], tile, overlap):
        for x0 in _starts(x.shape[3], tile, overlap):
            piece = net(x[..., y0 : y0 + tile, x0 : x0 + tile]).double().cpu()
            if total is None:
                total = torch.zeros(1, piece.shape[1], *out_size, dtype=torch.float64)
            rows = slice(y0 * scale, y0 * scale + piece.shape[2])
            cols = slice(x0 * scale, x0 * scale + piece.shape[3])
            total[..., rows, cols] += piece
            count[..., rows, cols] += 1
    return total / count


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Window origins with stride ``tile - overlap``, the last window ending at the border."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"overlap {overlap} must be smaller than the tile {tile}")
    return sorted(set(range(0, length - tile, stride)) | {length - tile})


def _to_image(output: torch.Tensor) -> np.ndarray:
    return output[0].float().cpu().numpy().transpose(1, 2, 0)
