"""The derived (discrete) network, built from a genotype alone.

Layer l runs one DerivedCell at node width C_l. Its newer input is P_l(previous cell's output), its older
input Q_l(previous layer's newer input), Q being the identity between equal widths: the supernet's
wiring restricted to one path (see supernet.py).
"""

import torch
from torch import nn

from ..core import NetworkIO
from .blocks import Head, Projection, Stem, channels_last, reconstruct, to_channels_last
from .cell import DerivedCell
from .genotype import Genotype


class DerivedNet(nn.Module):
    def __init__(self, genotype: Genotype, io: NetworkIO, width: int):
        super().__init__()
        g = genotype
        self.genotype, self.io, self.width = g, io, width
        widths = g.node_widths(width)
        stem_out = int(width * g.stem_multiplier)  # the supernet's stem width, scaled to f
        self.stem = Stem(io.in_channels, g.stem_width, stem_out)
        self.projections = nn.ModuleList()
        self.cells = nn.ModuleList()
        src_in = stem_out
        for layer, width in enumerate(widths):
            src_out = src_in if layer == 0 else g.nodes * src_in
            self.projections.append(nn.ModuleList([
                Projection(src_out, width, affine=True),
                Projection(src_in, width, affine=True, always_project=False),
            ]))
            self.cells.append(DerivedCell(width, g.cell_for_layer(layer)))
            src_in = width
        self.head = Head(g.nodes * widths[-1], g.head_width, io.out_channels * io.scale**2)
        to_channels_last(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_last(x)
        newer, older = self.stem(x)
        for (proj_new, proj_old), cell in zip(self.projections, self.cells, strict=True):
            s1, s0 = proj_new(newer), proj_old(older)
            newer, older = cell(s0, s1), s1
        return reconstruct(x, self.head(newer), self.io.scale, self.genotype.residual)

    def skip_output_layer(self) -> nn.Conv2d | None:
        """The head's last conv, whose output is added to the skip with residual learning (core.SKIP_START)."""
        return self.head.body[-1] if self.genotype.residual else None
