"""The network every DLSR architecture shares (dlsr-spec 1.3): stem, cells, head and pixel-shuffle upsampler.

out = upsample(3x3(LReLU(1x1(cat[B1..Bn]))) + stem); B1 reads the stem, B2 reads B1, and each later cell
reads a fusion (concat -> 1x1 -> LReLU) of the earlier cells its genotype (or the supernet's beta) picks, or
just the previous cell with RFDN's wiring. Images in [0, 1] are scaled to 0..rgb_range inside.
"""

import torch
from torch import nn

from ..core import NetworkIO
from .cell import DistillationCell, lrelu
from .genotype import FIRST_SEARCHED_CELL, Genotype
from .ops import make_op


class DLSRBody(nn.Module):
    """Stem, head and upsampler around ``cells``; ``fusions[k]`` feeds cell B_{k+FIRST_SEARCHED_CELL}."""

    def __init__(self, io: NetworkIO, width: int, cells: list[DistillationCell], fusions: list[nn.Conv2d] | None,
                 rgb_range: float):
        super().__init__()
        self.rgb_range = rgb_range
        self.stem = nn.Conv2d(io.in_channels, width, 3, padding=1)
        self.cells = nn.ModuleList(cells)
        self.fusions = None if fusions is None else nn.ModuleList(fusions)
        self.head_fuse = nn.Conv2d(width * len(cells), width, 1)
        self.head_conv = nn.Conv2d(width, width, 3, padding=1)
        self.upsample = nn.Sequential(nn.Conv2d(width, io.out_channels * io.scale**2, 3, padding=1),
                                      nn.PixelShuffle(io.scale))

    def run(self, x: torch.Tensor, run_cell, cell_input) -> torch.Tensor:
        """``run_cell(index, input)``; ``cell_input(index, outputs)`` for cells from B3 (0-based index 2)."""
        stem = self.stem(x * self.rgb_range)
        outputs = [run_cell(0, stem)]
        for index in range(1, len(self.cells)):
            searched = self.fusions is not None and index >= FIRST_SEARCHED_CELL - 1
            outputs.append(run_cell(index, cell_input(index, outputs) if searched else outputs[-1]))
        features = self.head_conv(lrelu(self.head_fuse(torch.cat(outputs, dim=1)))) + stem
        return self.upsample(features) / self.rgb_range


class DerivedNet(DLSRBody):
    """The network of one genotype, built from it alone."""

    def __init__(self, genotype: Genotype, io: NetworkIO, width: int):
        cells = [DistillationCell(width, [make_op(op, width) for op in genotype.cell])
                 for _ in range(genotype.cells)]
        fusions = None if genotype.inputs is None else [
            nn.Conv2d(width * len(chosen), width, 1) for chosen in genotype.inputs]
        super().__init__(io, width, cells, fusions, genotype.rgb_range)
        self.genotype = genotype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, lambda i, h: self.cells[i](h), self._cell_input)

    def _cell_input(self, index: int, outputs: list[torch.Tensor]) -> torch.Tensor:
        slot = index - (FIRST_SEARCHED_CELL - 1)
        chosen = self.genotype.inputs[slot]
        return lrelu(self.fusions[slot](torch.cat([outputs[j - 1] for j in chosen], dim=1)))
