"""The U-shaped derainer (autoderain-spec 2.1) and its derived network.

Head conv3x3 -> per encoder level N RSEBs, then a stride-2 conv doubling the width -> N RSEBs at the bottleneck
-> per decoder level bilinear x2, conv1x1 halving the width, fusion with the encoder's skip (concat + conv1x1,
or add), N RSEBs -> tail conv3x3. The net predicts the rain layer: output = input - tail(...). Inputs are
reflection-padded to a multiple of 2^(levels-1) and the output is cropped back.

``UNet`` owns the fixed layers and holds the blocks it is given; ``forward(x, run_block)`` lets the supernet
decide how each block runs (one path, a gated one-hot, a softmax mixture) while the U is written once.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..core import NetworkIO
from .genotype import Block, Genotype, num_blocks
from .ops import SqueezeExcite, make_op

RunBlock = Callable[[int, nn.Module, torch.Tensor], torch.Tensor]  # (block index, block, input) -> output


class UNet(nn.Module):
    def __init__(self, io: NetworkIO, width: int, levels: int, per_stage: int, skip: str,
                 make_block: Callable[[int, int], nn.Module]):
        super().__init__()
        if io.scale != 1:
            raise ValueError(f"the autoderain U-Net restores at the input size, got scale {io.scale}")
        self.levels, self.per_stage, self.skip = levels, per_stage, skip
        widths = [width * 2**level for level in range(levels)]
        stage_widths = widths[:-1] + [widths[-1]] + widths[-2::-1]  # E0.., M, ..D0
        self.head = nn.Conv2d(io.in_channels, width, 3, padding=1)
        self.blocks = nn.ModuleList(make_block(i, stage_widths[i // per_stage])
                                    for i in range(num_blocks(levels, per_stage)))
        self.down = nn.ModuleList(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1) for c in widths[:-1])
        self.up = nn.ModuleList(nn.Conv2d(2 * c, c, 1) for c in widths[:-1])
        self.fuse = nn.ModuleList(nn.Conv2d(2 * c, c, 1) for c in widths[:-1]) if skip == "concat" else None
        self.tail = nn.Conv2d(width, io.out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, run_block: RunBlock) -> torch.Tensor:
        h, w = x.shape[-2:]
        multiple = 2 ** (self.levels - 1)
        pad = (0, -w % multiple, 0, -h % multiple)
        padded = F.pad(x, pad, mode="reflect")  # always: a size test would be fixed at export (ONNX) size
        features, skips, index = self.head(padded), [], 0
        for level in range(self.levels - 1):
            features, index = self._stage(features, index, run_block)
            skips.append(features)
            features = self.down[level](features)
        features, index = self._stage(features, index, run_block)
        for level in reversed(range(self.levels - 1)):
            up = self.up[level](F.interpolate(features, scale_factor=2, mode="bilinear", align_corners=False))
            features = self.fuse[level](torch.cat([up, skips[level]], 1)) if self.fuse is not None \
                else up + skips[level]
            features, index = self._stage(features, index, run_block)
        rain = self.tail(features)
        return (padded - rain)[..., :h, :w]

    def _stage(self, x: torch.Tensor, index: int, run_block: RunBlock) -> tuple[torch.Tensor, int]:
        for i in range(index, index + self.per_stage):
            x = run_block(i, self.blocks[i], x)
        return x, index + self.per_stage


class RSEB(nn.Module):
    """x + G(Op_b(ReLU(Op_a(x)))), G the SE gate or the identity (autoderain-spec 2.2)."""

    def __init__(self, block: Block, channels: int, se_reduction: int):
        super().__init__()
        self.conv_a, self.conv_b = make_op(block.a, channels), make_op(block.b, channels)
        self.se = SqueezeExcite(channels, se_reduction) if block.se else nn.Identity()

    def forward(self, x):
        return x + self.se(self.conv_b(F.relu(self.conv_a(x))))


def _run(index: int, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return block(x)


class DerivedNet(nn.Module):
    """The network of a genotype at base width ``width``, built from the genotype alone."""

    def __init__(self, genotype: Genotype, io: NetworkIO, width: int):
        super().__init__()
        self.genotype = genotype
        self.net = UNet(io, width, genotype.levels, genotype.per_stage, genotype.skip,
                        lambda i, channels: RSEB(genotype.blocks[i], channels, genotype.se_reduction))

    def forward(self, x):
        return self.net(x, _run)

    def skip_output_layer(self) -> nn.Conv2d:
        """The tail, whose output (the rain layer) is subtracted from the input (core.SKIP_START)."""
        return self.net.tail
