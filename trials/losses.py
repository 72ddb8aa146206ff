"""Training losses as a registry (config section ``loss``): the HiNAS loss (Eq. 7): pixel loss +
lam * (-log10 SSIM), with a differentiable Gaussian SSIM; DLSR's L1 + 0.2 HFEN.

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


def differentiable_ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
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
    ssim_loss = -torch.log10(differentiable_ssim(pred, target).clamp_min(SSIM_FLOOR))
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

HFEN_BLUR, HFEN_SIGMA = 5, 1.5
LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def high_frequency(x: torch.Tensor) -> torch.Tensor:
    """DLSR's high-frequency map: a 5x5 Gaussian (sigma 1.5, no padding) per channel, then a 3x3 Laplacian
    summed over channels (the authors' kernel has every input channel), divided by its maximum over the
    batch when that is positive."""
    channels = x.shape[1]
    coords = torch.arange(HFEN_BLUR, device=x.device, dtype=x.dtype) - HFEN_BLUR // 2
    g = torch.exp(-(coords**2) / (2 * HFEN_SIGMA**2))
    blur = (torch.outer(g, g) / torch.outer(g, g).sum()).expand(channels, 1, HFEN_BLUR, HFEN_BLUR)
    laplacian = torch.tensor(LAPLACIAN, device=x.device, dtype=x.dtype).expand(1, channels, 3, 3)
    edges = F.conv2d(F.conv2d(x, blur, groups=channels), laplacian, padding=1)
    peak = edges.max()
    # where, not `if peak > 0`: a Python condition on a device value would synchronise every step
    return edges / torch.where(peak > 0, peak, torch.ones_like(peak))


def l1_hfen_loss(pred: torch.Tensor, target: torch.Tensor, hfen_weight: float, pixel_range: float
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """DLSR's loss: L1 on the 0..pixel_range scale + hfen_weight * L1 between normalised high-frequency maps."""
    l1 = F.l1_loss(pred, target) * pixel_range
    hfen = F.l1_loss(high_frequency(pred), high_frequency(target))
    return l1 + hfen_weight * hfen, {"l1": l1.detach(), "hfen": hfen.detach()}


@dataclass(frozen=True)
class L1HFENConfig(LossConfig):
    name: str = "l1_hfen"
    hfen_weight: float = 0.2
    pixel_range: float = 255.0  # the authors' images are 0..255, which weighs L1 against the scale-free HFEN

    def __post_init__(self) -> None:
        if not (math.isfinite(self.hfen_weight) and self.hfen_weight >= 0 and self.pixel_range > 0):
            raise ValueError(f"loss.hfen_weight must be finite and >= 0 and loss.pixel_range > 0, got "
                             f"{self.hfen_weight}, {self.pixel_range}")


@LOSSES.register
class L1HFEN(Loss):
    """DLSR's search and retraining loss (dlsr-spec section 2)."""

    name = "l1_hfen"
    config_class = L1HFENConfig

    def build(self, cfg: L1HFENConfig) -> LossFunction:
        return lambda pred, target: l1_hfen_loss(pred, target, cfg.hfen_weight, cfg.pixel_range)


PIXEL_KINDS = ("l1", "mse", "neg_ssim")


@dataclass(frozen=True)
class PixelLossConfig(LossConfig):
    name: str = "pixel"
    # l1 (the spec's default) | mse (the smoke preset: L1's median ignores sparse streaks in short runs: on the
    # built-in set it stayed at the rainy input's 27.0 dB over 1200 steps where MSE reached 32.8) | neg_ssim (PReNet)
    kind: str = "l1"

    def __post_init__(self) -> None:
        if self.kind not in PIXEL_KINDS:
            raise ValueError(f"loss.kind must be one of {', '.join(PIXEL_KINDS)}, got {self.kind!r}")


def pixel_or_ssim_loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> tuple[torch.Tensor, dict]:
    if kind in PIXEL_LOSSES:
        loss = PIXEL_LOSSES[kind](pred, target)
        return loss, {kind: loss.detach()}
    loss = -differentiable_ssim(pred, target)
    return loss, {"ssim": -loss.detach()}


@LOSSES.register
class PixelLoss(Loss):
    """One term: L1, MSE or -SSIM (AutoDerain's search and retraining loss, autoderain-spec 3 and 5, [inf];
    PReNet trains with -SSIM)."""

    name = "pixel"
    config_class = PixelLossConfig

    def build(self, cfg: PixelLossConfig) -> LossFunction:
        return lambda pred, target: pixel_or_ssim_loss(pred, target, cfg.kind)


class NonFiniteLossError(RuntimeError):
    """A NaN or infinite loss: the trial stops, naming where and which loss terms went bad."""


def _non_finite(value: float, terms: dict[str, torch.Tensor], where: str) -> NonFiniteLossError:
    parts = ", ".join(f"{k}={float(v):.6g}" for k, v in terms.items())
    return NonFiniteLossError(f"non-finite loss {value} in {where} ({parts})")


class LossLog:
    """Losses kept on their device until read, so that a training step needs no host synchronisation.

    ``checked_loss(..., log=)`` records every loss it computes; ``read`` copies them and the losses to be
    logged to the host in one transfer (the one synchronisation), raises NonFiniteLossError for the first
    non-finite one, naming the step it came from and its terms, and forgets them. The loops read before
    every checkpoint and report, so a checkpoint never holds weights trained on a non-finite loss.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[torch.Tensor, dict[str, torch.Tensor], str]] = []

    def record(self, total: torch.Tensor, terms: dict[str, torch.Tensor], where: str) -> None:
        self._pending.append((total.detach(), terms, where))

    def read(self, logged: list[torch.Tensor] = ()) -> torch.Tensor:
        """The ``logged`` (detached, scalar) losses as a CPU tensor, after checking every recorded loss."""
        pending, self._pending = self._pending, []
        if not pending and not logged:
            return torch.zeros(0)
        values = torch.stack([t.float() for t, _, _ in pending] + [t.float() for t in logged]).cpu()
        for value, (_, terms, where) in zip(values[:len(pending)].tolist(), pending, strict=True):
            if not math.isfinite(value):
                raise _non_finite(value, terms, where)
        return values[len(pending):].clone()


def checked_loss(loss: LossFunction, pred: torch.Tensor, target: torch.Tensor, where: str,
                 log: LossLog | None = None) -> torch.Tensor:
    """The loss's total; a NonFiniteLossError naming ``where`` and the terms if it is NaN/inf: at once
    (one host synchronisation), or when ``log`` is read if one is given."""
    total, terms = loss(pred, target)
    if log is not None:
        log.record(total, terms, where)
    elif not torch.isfinite(total):
        raise _non_finite(float(total.detach()), terms, where)
    return total
