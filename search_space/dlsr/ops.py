"""DLSR's candidate operations (dlsr-spec 1.1): C -> C channels, stride 1, no BN, no bias.

Plain convs are linear, so a mixed layer sums them as one conv whose kernel is the weighted sum of their
kernels (``merged_plain_kernel``); sep and dil convs start with a ReLU of the input that the mixed layer
computes once for all of them (``after_relu``).
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..depthwise import depthwise_conv

PRIMITIVES = ("conv_1x1", "conv_3x3", "conv_5x5", "conv_7x7", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
              "dil_conv_3x3", "dil_conv_5x5")
# The parameter penalty's per-op costs (thousands of weights at C=50, PRIMITIVES order; dlsr-spec section 2).
PENALTY_COSTS = (2.5, 22.5, 62.5, 122.5, 5.9, 7.5, 9.9, 2.95, 3.75)


class PlainConv(nn.Conv2d):
    """One k x k conv, no activation."""

    def __init__(self, channels: int, kernel: int):
        super().__init__(channels, channels, kernel, padding=kernel // 2, bias=False)


class DepthwiseConv(nn.Conv2d):
    """One k x k filter per channel, through the project's faster depthwise kernel where it applies."""

    def __init__(self, channels: int, kernel: int, dilation: int = 1):
        super().__init__(channels, channels, kernel, padding=dilation * (kernel // 2), dilation=dilation,
                         groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dilation == (1, 1):
            return depthwise_conv(x, self.weight, self.padding)
        return super().forward(x)


def pointwise(channels: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 1, bias=False)


class SepConv(nn.Module):
    """Twice ReLU -> depthwise k x k -> pointwise 1x1 (DARTS's sep conv without BN)."""

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.dw1, self.pw1 = DepthwiseConv(channels, kernel), pointwise(channels)
        self.dw2, self.pw2 = DepthwiseConv(channels, kernel), pointwise(channels)

    def after_relu(self, activated: torch.Tensor) -> torch.Tensor:
        return self.pw2(self.dw2(F.relu(self.pw1(self.dw1(activated)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_relu(F.relu(x))


class DilConv(nn.Module):
    """ReLU -> depthwise k x k with dilation 2 -> pointwise 1x1."""

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.dw, self.pw = DepthwiseConv(channels, kernel, dilation=2), pointwise(channels)

    def after_relu(self, activated: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(activated))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_relu(F.relu(x))


def make_op(name: str, channels: int) -> nn.Module:
    kind, _, size = name.rpartition("_")
    kernel = int(size.split("x")[0])
    builders = {"conv": PlainConv, "sep_conv": SepConv, "dil_conv": DilConv}
    if name not in PRIMITIVES:
        raise ValueError(f"unknown DLSR op {name!r}; valid: {', '.join(PRIMITIVES)}")
    return builders[kind](channels, kernel)


def merged_plain_kernel(convs: list[PlainConv], weights: torch.Tensor) -> torch.Tensor:
    """sum_i weights[i] * kernel_i, each kernel zero-padded to the largest size: one conv computes the
    weighted sum of all plain convs (exactly, they are linear)."""
    size = max(c.kernel_size[0] for c in convs)
    total = 0
    for conv, w in zip(convs, weights, strict=True):
        pad = (size - conv.kernel_size[0]) // 2
        total = total + w * F.pad(conv.weight, (pad, pad, pad, pad))
    return total
