"""HiNAS's config section and the combinatorics of its outer (width) space."""

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import torch

from ..core import SpaceConfig
from .genotype import CellGenotype, Genotype, is_legal_path
from .ops import DERIVABLE

MOVES = (-1, 0, 1)  # beta's columns: go down one level, stay, go up one level


@dataclass(frozen=True)
class HinasConfig(SpaceConfig):
    name: str = "hinas"
    layers: int = 3  # L
    nodes: int = 4  # B
    base_width: int = 10  # f during search (paper: 10 for denoising)
    width_factors: tuple[float, ...] = (1.0, 1.5, 2.0)  # w_h; reference code. Paper: (1, 2, 4)
    lwas: bool = True  # layer-wise architecture sharing: alpha per layer
    residual: bool = True  # residual learning
    cell_sharing: bool = True  # Eq. 5 (True) or Eq. 6 (False)
    width_search: bool = True  # False: widths fixed by manual_widths, only cells are searched
    manual_widths: tuple[float, ...] | None = None  # per-layer multipliers of f, e.g. w40: (2, 2, 2)
    stem_width: int = 64
    head_width: int = 64

    size_limits: ClassVar[dict[str, int]] = {"layers": 100, "nodes": 16}  # the paper: L=3 or 4, B=4 or 3

    def __post_init__(self) -> None:
        if self.layers < 1 or self.nodes < 1 or self.base_width < 1:
            raise ValueError("layers, nodes and base_width must be positive")
        if len(self.width_factors) != 3:
            raise ValueError("width_factors needs 3 levels")
        if not self.width_search:
            if self.manual_widths is None or len(self.manual_widths) != self.layers:
                raise ValueError(f"width_search=False needs manual_widths with {self.layers} entries")
        elif self.manual_widths is not None:
            raise ValueError("manual_widths only apply with width_search=False")

    @property
    def levels(self) -> int:
        return len(self.width_factors)

    @property
    def edges_per_cell(self) -> int:
        return sum(2 + i for i in range(self.nodes))

    @property
    def num_alpha_cells(self) -> int:
        return self.layers if self.lwas else 1

    def level_width(self, level: int, base_width: int | None = None) -> int:
        return int((base_width or self.base_width) * self.width_factors[level])

    def levels_at(self, layer: int) -> range:
        """Levels a layer can reach from the stem at level 0: layer 0 has levels 0-1, later ones 0-2."""
        if not self.width_search:
            return range(1)
        return range(min(layer + 1, self.levels - 1) + 1)

    def layer_widths(self, layer: int) -> list[int]:
        if not self.width_search:
            return [int(self.base_width * self.manual_widths[layer])]
        return [self.level_width(h) for h in self.levels_at(layer)]

    @cached_property
    def legal_paths(self) -> tuple[tuple[int, ...], ...]:
        candidates = itertools.product(range(self.levels), repeat=self.layers)
        return tuple(p for p in candidates if is_legal_path(p, self.levels))

    def move_mask(self) -> torch.Tensor:
        """(levels, 3) bool: which moves (down, stay, up) stay inside the level range from each level."""
        mask = torch.zeros(self.levels, len(MOVES), dtype=torch.bool)
        for level, (m, move) in itertools.product(range(self.levels), enumerate(MOVES)):
            mask[level, m] = 0 <= level + move < self.levels
        return mask

    def num_cell_architectures(self) -> int:
        per_cell = math.prod(math.comb(2 + i, 2) * len(DERIVABLE) ** 2 for i in range(self.nodes))
        return per_cell**self.num_alpha_cells

    def num_architectures(self) -> int:
        paths = len(self.legal_paths) if self.width_search else 1
        return self.num_cell_architectures() * paths

    def genotype(self, cells: tuple[CellGenotype, ...], path: tuple[int, ...] | None) -> Genotype:
        """The genotype of discrete cells and a width path (None with manual widths) in this space."""
        if self.width_search:
            multipliers, stem_multiplier = tuple(self.width_factors[h] for h in path), self.width_factors[0]
        else:
            multipliers, stem_multiplier = tuple(self.manual_widths), self.manual_widths[0]
        return Genotype(cells=cells, width_multipliers=multipliers, path=path, residual=self.residual,
                        stem_multiplier=stem_multiplier, stem_width=self.stem_width, head_width=self.head_width)
