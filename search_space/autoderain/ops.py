"""The candidate convolutions of an RSEB slot and the squeeze-and-excitation gate (autoderain-spec 2.2-2.3).

Every op maps C -> C channels at stride 1 with "same" padding and a bias (the derainer has no BN). The op set
is the spec's [inf] choice; ``space.ops`` picks any subset of ``OPS`` in any order (the first one wins
argmax ties, so the order is part of the config).
"""

from torch import nn

OPS = ("conv_3x3", "conv_5x5", "dil_conv_3x3", "sep_conv_3x3", "sep_conv_5x5")
HAND_DESIGNED_OP = "conv_3x3"  # the hand-designed baseline: every slot a plain 3x3 conv, SE on


def _separable(channels: int, kernel: int, dilation: int = 1) -> nn.Sequential:
    """Depthwise kernel x kernel (dilated), then a pointwise 1x1: no activation between, as the spec gives it."""
    padding = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv2d(channels, channels, kernel, padding=padding, dilation=dilation, groups=channels),
        nn.Conv2d(channels, channels, 1),
    )


def make_op(name: str, channels: int) -> nn.Module:
    if name == "conv_3x3":
        return nn.Conv2d(channels, channels, 3, padding=1)
    if name == "conv_5x5":
        return nn.Conv2d(channels, channels, 5, padding=2)
    if name == "dil_conv_3x3":
        return _separable(channels, 3, dilation=2)
    if name == "sep_conv_3x3":
        return _separable(channels, 3)
    if name == "sep_conv_5x5":
        return _separable(channels, 5)
    raise ValueError(f"unknown autoderain op {name!r}; valid: {', '.join(OPS)}")


def se_channels(channels: int, reduction: int) -> int:
    """The squeezed width C / r, at least 1 (SENet's r=16 would leave 2 channels at C=32: the spec uses 4)."""
    return max(1, channels // reduction)


class SqueezeExcite(nn.Module):
    """Global average pool -> 1x1 C -> C/r -> ReLU -> 1x1 -> sigmoid, scaling the channels of its input."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        squeezed = se_channels(channels, reduction)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, squeezed, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(squeezed, channels, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate(x)
