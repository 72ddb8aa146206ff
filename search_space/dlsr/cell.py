"""The RFDB-style distillation cell (dlsr-spec 1.2) and its enhanced spatial attention (ESA).

For i = 1..3: d_i = LReLU(1x1(r_{i-1})) is distilled and r_i = LReLU(layer_i(r_{i-1}) + r_{i-1}) refined,
r_0 = x; then r_4 = LReLU(3x3(r_3)) and out = ESA(1x1(cat[d_1, d_2, d_3, r_4])), no residual around the cell.
The three layers are what is searched: one op each in a derived network, a mixed layer in the supernet.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NEGATIVE_SLOPE = 0.05
LAYERS = 3  # searched layers per cell
# ESA: 3x3 stride-2 conv (no padding) then a 7x7 stride-3 max pool: a side of at least 15 px is needed.
ESA_MIN_SIZE = 15


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, NEGATIVE_SLOPE)


class ESA(nn.Module):
    """Enhanced spatial attention (RFDN): a sigmoid mask from a strided, pooled branch at width C // 4."""

    def __init__(self, channels: int):
        super().__init__()
        f = max(channels // 4, 1)
        self.reduce = nn.Conv2d(channels, f, 1)
        self.skip = nn.Conv2d(f, f, 1)
        self.down = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.pool_conv = nn.Conv2d(f, f, 3, padding=1)
        self.conv_a = nn.Conv2d(f, f, 3, padding=1)
        self.conv_b = nn.Conv2d(f, f, 3, padding=1)
        self.expand = nn.Conv2d(f, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < ESA_MIN_SIZE:
            raise ValueError(f"DLSR's attention (ESA) needs inputs of at least {ESA_MIN_SIZE}x{ESA_MIN_SIZE} px, "
                             f"got {x.shape[-2]}x{x.shape[-1]}")
        reduced = self.reduce(x)
        branch = F.max_pool2d(self.down(reduced), kernel_size=7, stride=3)
        branch = F.relu(self.conv_a(F.relu(self.pool_conv(branch))))
        branch = F.interpolate(self.conv_b(branch), x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.expand(branch + self.skip(reduced)))


LayerRunner = Callable[[int, torch.Tensor], torch.Tensor]  # (layer index, r_{i-1}) -> layer_i(r_{i-1})


class DistillationCell(nn.Module):
    """``layers``: the three searched layers (ops or mixed layers); ``forward`` says how to run them."""

    def __init__(self, channels: int, layers: list[nn.Module]):
        super().__init__()
        if len(layers) != LAYERS:
            raise ValueError(f"a DLSR cell has {LAYERS} searched layers, got {len(layers)}")
        distilled = channels // 2
        self.layers = nn.ModuleList(layers)
        self.distill = nn.ModuleList(nn.Conv2d(channels, distilled, 1) for _ in range(LAYERS))
        self.tail = nn.Conv2d(channels, distilled, 3, padding=1)
        self.fuse = nn.Conv2d(distilled * (LAYERS + 1), channels, 1)
        self.esa = ESA(channels)

    def forward(self, x: torch.Tensor, run_layer: LayerRunner | None = None) -> torch.Tensor:
        run_layer = run_layer or (lambda i, r: self.layers[i](r))
        distilled, refined = [], x
        for i in range(LAYERS):
            distilled.append(lrelu(self.distill[i](refined)))
            refined = lrelu(run_layer(i, refined) + refined)
        distilled.append(lrelu(self.tail(refined)))
        return self.esa(self.fuse(torch.cat(distilled, dim=1)))
