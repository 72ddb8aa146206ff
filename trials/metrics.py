"""Report metrics (PSNR, SSIM through scikit-image) and running a network on a whole image, optionally tiled.

A task's ``Protocol`` says what is compared: all channels of the output clipped to [0, 1] (denoising), or the
BT.601 Y channel with ``shave`` pixels cut from each border (SR: ``scale`` px, the EDSR/BasicSR convention).
Test scoring adds the published protocol's choices (``eval`` config, ``test_protocol``): outputs rounded to
8 bits first (``quantize``, as the literature's test code writes uint8 images), and an image read from a
1-channel file in a colour set (Set14's bridge; not man, an RGB file of equal channels) compared on its gray
values, the output's BT.601 luma against it (``gray_images="gray"``, the MATLAB scripts), or as the Y of the
replicated RGB image ("rgb").
"""

from dataclasses import dataclass

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from trials.data.images import BT601_LUMA

# ITU-R BT.601 studio-swing luma on [0, 1] RGB: Y in [16/255, 235/255]
Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64) / 255.0
Y_OFFSET = 16.0 / 255.0


def psnr(pred: np.ndarray, target: np.ndarray, clip: bool = True) -> float:
    """``clip=False`` scores ``pred`` as it is (an unclipped noisy input: 20 log10(255 / sigma))."""
    return float(peak_signal_noise_ratio(_clip(target), _clip(pred) if clip else pred.astype(np.float64),
                                         data_range=1.0))


def ssim(pred: np.ndarray, target: np.ndarray, clip: bool = True) -> float:
    """(H, W, C) images; per-channel Gaussian SSIM averaged over channels."""
    return float(
        structural_similarity(
            _clip(target),
            _clip(pred) if clip else pred.astype(np.float64),
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
    quantize: bool = False  # outputs rounded to 8 bits first (the test protocol; validation scores floats)
    gray_images: str = "rgb"  # a gray image in a colour set: "gray" (its gray values) | "rgb" (Y of replicated RGB)
    round_y: bool = False  # Y rounded to 8 bits, as MATLAB's rgb2ycbcr on uint8 images (the bicubic rows' scripts)

    def describe(self) -> str:
        """One line for captions and tags: 'Y (BT.601), shave 4 px, 8-bit output, gray images on gray'."""
        parts = ["Y (BT.601)" if self.y_channel else "all channels"]
        parts += [f"shave {self.shave} px"] if self.shave else []
        parts += ["8-bit output" if self.quantize else "float output"]
        parts += ["Y rounded to 8 bits"] if self.y_channel and self.round_y else []
        parts += [f"gray images on {'gray' if self.gray_images == 'gray' else 'Y of RGB'}"] if self.y_channel else []
        return ", ".join(parts)


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1] -> (H, W, 1) BT.601 Y in [16/255, 235/255]."""
    return (image.astype(np.float64) @ Y_WEIGHTS + Y_OFFSET)[..., None]


def quantize(image: np.ndarray) -> np.ndarray:
    """Rounded to the nearest of the 256 8-bit levels (clipped to [0, 1] first), as float64."""
    return np.floor(_clip(image) * 255.0 + 0.5) / 255.0


def view(image: np.ndarray, protocol: Protocol, gray_target: bool = False) -> np.ndarray:
    """What the metrics compare under ``protocol``: Y of colour images if asked (BT.601 luma on the gray scale
    where the target is a gray image scored on gray), the border shaved."""
    if protocol.y_channel and image.shape[2] == 3:
        on_gray = gray_target and protocol.gray_images == "gray"
        image = (_clip(image) @ BT601_LUMA.astype(np.float64))[..., None] if on_gray else rgb_to_y(_clip(image))
        image = quantize(image) if protocol.round_y and not on_gray else image
    s = protocol.shave
    return image[s:-s, s:-s] if s > 0 else image


def evaluate(pred: np.ndarray, target: np.ndarray, protocol: Protocol, clip: bool = True,
             gray_file: bool = False) -> tuple[float, float]:
    """(PSNR, SSIM) of one output against its clean/HR target. ``clip=False``: ``pred`` is scored as it is (the
    unclipped noisy input), neither clipped nor quantized. ``gray_file``: the target was read from a 1-channel
    file (``ImageSet.gray_files``)."""
    if protocol.quantize and clip:
        pred = quantize(pred)
    gray = protocol.y_channel and protocol.gray_images == "gray" and gray_file and target.shape[2] == 3
    ours, theirs = view(pred, protocol, gray), view(target, protocol, gray)
    return psnr(ours, theirs, clip), ssim(ours, theirs, clip)


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
