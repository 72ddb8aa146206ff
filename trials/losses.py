"""Training losses as a registry (config section ``loss``), and the HiNAS loss (Eq. 7): pixel loss +
lam * (-log10 SSIM), with a differentiable Gaussian SSIM.

The SSIM matches scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1)``: an 11x11 window applied without padding (scikit-image filters
with reflection, then drops the 5-pixel border where it differs), mean over pixels and channels.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from search_space.registry import Registry

WINDOW = 11
WINDOW_SIGMA = 1.5
C1, C2 = 0.01**2, 0.03**2  # data range 1
# SSIM lies in [-1, 1] and -log10 is undefined at <= 0, where the reference code gives NaN. Clamping to this
# floor bounds the term at 3 and its gradient at 1 / (SSIM_FLOOR ln 10); below the floor the gradient is 0
# and the pixel loss alone pulls the prediction back.
SSIM_FLOOR = 1e-3
PIXEL_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


def gaussian_window(channels: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(channels, 1, 11, 11) normalised Gaussian, one per channel for a grouped conv."""
    coords = torch.arange(WINDOW, device=device, dtype=dtype) - WINDOW // 2
    g = torch.exp(-(coords**2) / (2 * WINDOW_SIGMA**2))
    g = g / g.sum()
    return torch.outer(g, g).expand(channels, 1, WINDOW, WINDOW).contiguous()


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of (N, C, H, W) images in [0, 1] over the batch, channels and the valid pixels."""
    if min(pred.shape[-2:]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {tuple(pred.shape[-2:])}")
    window = gaussian_window(pred.shape[1], pred.device, pred.dtype)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=pred.shape[1])

    mu_p, mu_t = blur(pred), blur(target)
    var_p = blur(pred * pred) - mu_p**2
    var_t = blur(target * target) - mu_t**2
    cov = blur(pred * target) - mu_p * mu_t
    num = (2 * mu_p * mu_t + C1) * (2 * cov + C2)
    den = (mu_p**2 + mu_t**2 + C1) * (var_p + var_t + C2)
    return (num / den).mean()


def restoration_loss(
    pred: torch.Tensor, target: torch.Tensor, lam: float = 0.6, pixel: str = "mse"
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 7: ``pixel(pred, target) + lam * -log10(SSIM)`` (SSIM of the batch); parts returned detached."""
    pixel_loss = PIXEL_LOSSES[pixel](pred, target)
    ssim_loss = -torch.log10(ssim(pred, target).clamp_min(SSIM_FLOOR))
    total = pixel_loss + lam * ssim_loss
    return total, {"pixel": pixel_loss.detach(), "ssim": ssim_loss.detach()}


LossFunction = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass(frozen=True)
class LossConfig:
    """Base of every loss's config section; ``name`` is the registry key of the loss."""

    name: str


@dataclass(frozen=True)
class PixelSSIMConfig(LossConfig):
    name: str = "pixel_ssim"
    pixel: str = "mse"  # mse | l1
    lam: float = 0.6  # weight of the -log10(SSIM) term (Eq. 7)

    def __post_init__(self) -> None:
        if self.pixel not in PIXEL_LOSSES:
            raise ValueError(f"loss.pixel must be one of {tuple(PIXEL_LOSSES)}, got {self.pixel!r}")
        if not (math.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"loss.lam must be a finite number >= 0, got {self.lam}")


class Loss:
    name: ClassVar[str]
    config_class: ClassVar[type[LossConfig]]

    def build(self, cfg: LossConfig) -> LossFunction:
        raise NotImplementedError


LOSSES: Registry[Loss] = Registry("loss", instantiate=True)


@LOSSES.register
class PixelSSIM(Loss):
    """Eq. 7 of HiNAS: used by its search and by retraining."""

    name = "pixel_ssim"
    config_class = PixelSSIMConfig

    def build(self, cfg: PixelSSIMConfig) -> LossFunction:
        return lambda pred, target: restoration_loss(pred, target, cfg.lam, cfg.pixel)


LOSSES.default = PixelSSIM.name


class NonFiniteLossError(RuntimeError):
    """A NaN or infinite loss: the trial stops, naming where and which loss terms went bad."""


def checked_loss(loss: LossFunction, pred: torch.Tensor, target: torch.Tensor, where: str) -> torch.Tensor:
    """The loss's total; a NonFiniteLossError naming ``where`` and the terms if it is NaN/inf."""
    total, terms = loss(pred, target)
    if not torch.isfinite(total):
        parts = ", ".join(f"{k}={float(v):.6g}" for k, v in terms.items())
        raise NonFiniteLossError(f"non-finite loss {float(total.detach())} in {where} ({parts})")
    return total
