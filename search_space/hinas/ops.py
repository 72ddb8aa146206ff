"""The seven candidate operations (hinas-spec section 1), as a name -> constructor table.

Every op maps C -> C channels at stride 1 and keeps H x W. Conv-type ops are LeakyReLU -> conv(s) -> BN.
The leading LeakyReLU is split off (``preactivated``): the supernet computes it once per state and every
op on every edge leaving that state reuses it, instead of one copy per op and edge.

``forward(x, scale)`` lets a mixed edge fold its softmax weight into the final BatchNorm
(``BN(x) * w == batch_norm(x, weight=w)`` when BN is affine=False): autograd then keeps only the conv
output for backward, not the BN output as well, which is what bounds the supernet's memory.

``run_group(ops, x, scales)`` runs several ops of one kind on the same input (a searching cell's edges
leaving one state) as single grouped convolutions and one BatchNorm, and returns their outputs
concatenated along channels, in a fresh tensor the caller may add into: at the supernet's widths (10-20
channels) a CPU conv or BN costs nearly as much for one edge as for four.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..depthwise import depthwise_conv, fanned_depthwise_conv

NEGATIVE_SLOPE = 0.2

# Column order of alpha. `none` is last so that slicing [:-1] gives the ops a derived cell may use.
PRIMITIVES: tuple[str, ...] = (
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "skip_connect",
    "none",
)
NONE = "none"
DERIVABLE: tuple[str, ...] = tuple(p for p in PRIMITIVES if p != NONE)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, NEGATIVE_SLOPE)


def scaled_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    """``bn(x) * scale`` for an affine=False BN, computed as one batch_norm call with weight=scale.

    With ``scale=None`` this is ``bn(x)``. The weight form saves memory: batch_norm's backward needs
    only its input, whereas ``bn(x) * scale`` also keeps the BN output alive for d/d(scale).
    """
    if scale is None or bn.affine:
        out = bn(x)
        return out if scale is None else out * scale
    return batch_norm_group([bn], x, scale.reshape(1))


def batch_norm_group(bns: list[nn.BatchNorm2d], x: torch.Tensor, scale: torch.Tensor | None,
                     momentum: float | None = None) -> torch.Tensor:
    """One batch_norm over ``x``, the channel-concatenation of the inputs of several affine-free BNs of
    one width; ``scale`` (one weight per BN or None) multiplies each BN's output.

    Exact, because BN's statistics are per channel. One call instead of one per BN: on CPU a BN's cost
    barely depends on the channel count at these widths. Running statistics are gathered, updated with
    ``momentum`` (default: the BNs' own) and written back.
    """
    first = bns[0]
    width = first.num_features
    # Dense: the channels_last CPU kernel indexes weight densely; a stride-0 expand reads past its storage.
    weight = None if scale is None else scale.repeat_interleave(width)
    momentum = first.momentum if momentum is None else momentum
    # Passed even with momentum 0: a checkpoint's recomputation must save the same tensors as the forward.
    mean = torch.cat([bn.running_mean for bn in bns])
    var = torch.cat([bn.running_var for bn in bns])
    out = F.batch_norm(x, mean, var, weight, None, first.training, momentum, first.eps)
    if first.training and momentum != 0.0:
        for bn, bn_mean, bn_var in zip(bns, mean.split(width), var.split(width), strict=True):
            bn.running_mean.copy_(bn_mean)
            bn.running_var.copy_(bn_var)
            bn.num_batches_tracked.add_(1)
    return out


class ConvBN(nn.Module):
    """LeakyReLU -> Conv(k, dilation) without bias -> BN. Covers conv_3x3 and both dil_conv ops."""

    preactivated = True

    def __init__(self, channels: int, kernel: int, dilation: int, affine: bool):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(channels, channels, kernel, padding=pad, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm2d(channels, affine=affine)

    def forward(self, activated: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        return scaled_batch_norm(self.bn, self.conv(activated), scale)

    @staticmethod
    def run_group(ops: list["ConvBN"], activated: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        """``torch.cat([op(activated, s) for op, s in zip(ops, scales)], 1)`` as one conv with the ops'
        filters stacked and one BN: several small convs on one input cost about as much as one of them."""
        conv = ops[0].conv
        weight = torch.cat([op.conv.weight for op in ops])
        out = F.conv2d(activated, weight, None, 1, conv.padding, conv.dilation)
        return batch_norm_group([op.bn for op in ops], out, scales)


class SepConv(nn.Module):
    """Twice: LeakyReLU -> depthwise k x k -> pointwise 1x1 -> BN (the DARTS separable conv).

    The supernet's op (affine=False) always runs through ``run_group``. With ``recompute`` (its default)
    everything before the last pointwise conv is recomputed during backward instead of stored: that
    interior holds 4 of the 5 tensors a sep conv would keep, and depthwise/pointwise convs are cheap to
    redo. Running statistics are updated once per step, not again by the recomputation.
    """

    preactivated = True

    def __init__(self, channels: int, kernel: int, affine: bool, recompute: bool = False):
        super().__init__()
        pad = (kernel - 1) // 2
        self.recompute = recompute
        self.dw1 = nn.Conv2d(channels, channels, kernel, padding=pad, groups=channels, bias=False)
        self.pw1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, affine=affine)
        self.dw2 = nn.Conv2d(channels, channels, kernel, padding=pad, groups=channels, bias=False)
        self.pw2 = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, affine=affine)

    def forward(self, activated: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        if not self.bn2.affine:  # the supernet's op: the grouped path, with a group of one
            return SepConv.run_group([self], activated, None if scale is None else scale.reshape(1))
        x = self.bn1(self.pw1(depthwise_conv(activated, self.dw1.weight, self.dw1.padding)))
        # In place: leaky_relu with a positive slope is invertible, so autograd keeps one tensor, not two.
        x = self.pw2(depthwise_conv(F.leaky_relu_(x, NEGATIVE_SLOPE), self.dw2.weight, self.dw2.padding))
        return scaled_batch_norm(self.bn2, x, scale)

    @staticmethod
    def run_group(ops: list["SepConv"], activated: torch.Tensor, scales: torch.Tensor | None) -> torch.Tensor:
        """``torch.cat([op(activated, s) for op, s in zip(ops, scales)], 1)`` with each conv and BN run once
        for all ops (grouped convolutions); the interior is recomputed in backward when ``recompute``."""
        runs = 0

        def interior(x: torch.Tensor) -> torch.Tensor:
            nonlocal runs
            momentum = None if runs == 0 else 0.0  # the recomputation must not move running statistics
            runs += 1
            return SepConv._group_interior(ops, x, momentum)

        first = ops[0]
        if first.recompute and first.training and torch.is_grad_enabled():
            mid = checkpoint(interior, activated, use_reentrant=False)
        else:
            mid = interior(activated)
        pw2 = torch.cat([op.pw2.weight for op in ops])
        out = F.conv2d(mid, pw2, None, 1, 0, 1, len(ops))
        return batch_norm_group([op.bn2 for op in ops], out, scales)

    @staticmethod
    def _group_interior(ops: list["SepConv"], activated: torch.Tensor, momentum: float | None) -> torch.Tensor:
        n, width, first = len(ops), activated.shape[1], ops[0]
        pad = first.dw1.padding
        # dw1 for all ops at once: a grouped conv with n filters per input channel orders its outputs channel
        # by channel (c*n + op); pw1 reads them through a block-diagonal 1x1 conv whose columns are permuted
        # to match, and writes op by op. Cheaper than repeating the input n times for an op-by-op dw1.
        dw1 = torch.stack([op.dw1.weight for op in ops], 1).flatten(0, 1)
        x = fanned_depthwise_conv(activated, dw1, pad)
        pw1 = torch.block_diag(*[op.pw1.weight.view(width, width) for op in ops])
        pw1 = pw1.view(n * width, n, width).transpose(1, 2).reshape(n * width, n * width, 1, 1)
        x = F.conv2d(x, pw1)
        x = batch_norm_group([op.bn1 for op in ops], x, None, momentum)
        dw2 = torch.cat([op.dw2.weight for op in ops])
        # In place: leaky_relu with a positive slope is invertible, so autograd keeps one tensor, not two.
        return depthwise_conv(F.leaky_relu_(x, NEGATIVE_SLOPE), dw2, pad)


class Identity(nn.Module):
    preactivated = False

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        return x if scale is None else x * scale

    @staticmethod
    def run_group(ops: list["Identity"], x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        return torch.cat([x * scale for scale in scales], dim=1)


class Zero(nn.Module):
    """`none`. Mixed edges skip it (its term is exactly zero); derived cells never contain it."""

    preactivated = False

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        return torch.zeros_like(x)


OpFactory = Callable[[int, bool], nn.Module]

# Constructors take (channels, affine): affine=False builds the supernet's op (BN without affine,
# interiors recomputed in backward to save memory), affine=True the derived network's.
OPS: dict[str, OpFactory] = {
    "conv_3x3": lambda c, affine: ConvBN(c, 3, 1, affine),
    "sep_conv_3x3": lambda c, affine: SepConv(c, 3, affine, recompute=not affine),
    "sep_conv_5x5": lambda c, affine: SepConv(c, 5, affine, recompute=not affine),
    "dil_conv_3x3": lambda c, affine: ConvBN(c, 3, 2, affine),
    "dil_conv_5x5": lambda c, affine: ConvBN(c, 5, 2, affine),
    "skip_connect": lambda c, affine: Identity(),
    "none": lambda c, affine: Zero(),
}
assert tuple(OPS) == PRIMITIVES, "OPS and PRIMITIVES must list the same ops in the same order"

