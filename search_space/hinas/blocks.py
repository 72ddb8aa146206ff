"""Parts shared by HiNAS's supernet and derived networks: start part, width transitions, end part, output."""

import torch
import torch.nn.functional as F
from torch import nn

from .ops import NEGATIVE_SLOPE, scaled_batch_norm


def to_channels_last(module: nn.Module) -> nn.Module:
    """NHWC layout: oneDNN's convolutions (CPU) and cuDNN's run several times faster on it than on NCHW
    for these small widths (bench/supernet.py: 2-6x per conv on CPU)."""
    return module.to(memory_format=torch.channels_last)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


class Stem(nn.Module):
    """Start part: conv 3x3 (in -> stem) + BN + LeakyReLU, then one conv 3x3 each for the newer and the
    older input of the first layer (the reference uses a second conv for the older one)."""

    def __init__(self, in_channels: int, stem_width: int, out_width: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, stem_width, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.LeakyReLU(NEGATIVE_SLOPE),
        )
        self.newer = nn.Sequential(nn.Conv2d(stem_width, out_width, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(out_width))
        self.older = nn.Sequential(nn.Conv2d(stem_width, out_width, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(out_width))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(x)
        return self.newer(features), self.older(features)


class Projection(nn.Module):
    """1x1 conv + BN that maps a state to a destination level's width; the identity when the widths
    already agree and ``always_project`` is False (used for the older input)."""

    def __init__(self, in_width: int, out_width: int, affine: bool, always_project: bool = True):
        super().__init__()
        self.identity = in_width == out_width and not always_project
        if not self.identity:
            self.conv = nn.Conv2d(in_width, out_width, 1, bias=False)
            self.bn = nn.BatchNorm2d(out_width, affine=affine)

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        if self.identity:
            return x if scale is None else x * scale
        return scaled_batch_norm(self.bn, self.conv(x), scale)


class Head(nn.Module):
    """End part: conv 3x3 + BN + LeakyReLU, then conv 3x3 to the output channels."""

    def __init__(self, in_width: int, mid_width: int, out_channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_width, mid_width, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid_width),
            nn.LeakyReLU(NEGATIVE_SLOPE),
            nn.Conv2d(mid_width, out_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def reconstruct(x: torch.Tensor, head_out: torch.Tensor, scale: int, residual: bool) -> torch.Tensor:
    """Turns the head's output into the restored image (Fig. 4).

    At scale 1 with residual learning the head predicts the degradation (noise, rain) and the output is
    input - prediction (the reference's sign). At scale > 1 sub-pixel planes are rearranged with
    PixelShuffle and, with residual learning, bicubic(x) is added.
    """
    if scale > 1:
        out = F.pixel_shuffle(head_out, scale)
        if residual:
            out = out + F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
        return out
    return x - head_out if residual else head_out
