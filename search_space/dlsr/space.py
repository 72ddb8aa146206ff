"""DLSR's config section: what is searched (cell ops, network connections) and at which width."""

from dataclasses import dataclass
from typing import ClassVar

from ..core import SpaceConfig
from .cell import LAYERS
from .ops import PRIMITIVES

RFDN_OPS = ("conv_3x3",) * LAYERS  # RFDN's shallow residual blocks: the cell of the network-search-only ablation


@dataclass(frozen=True)
class DLSRConfig(SpaceConfig):
    name: str = "dlsr"
    width: int = 48  # nf during the search (the authors search at 48)
    cells: int = 6
    cell_search: bool = True  # False: every cell uses fixed_ops (network-level search only)
    fixed_ops: tuple[str, ...] = RFDN_OPS
    network_search: bool = True  # False: each cell takes the previous one's output (RFDN's wiring)
    inputs_kept: int = 2  # inputs of each cell from B3 in the derived network (top-k of its beta)
    rgb_range: float = 255.0  # the authors' nets see 0..255 images; ours scale [0, 1] inputs inside
    recompute: bool = False  # mixed layers keep only their input for backward and run again there

    size_limits: ClassVar[dict[str, int]] = {"cells": 100}  # the authors: 6

    def __post_init__(self) -> None:
        if self.width < 2 or self.cells < 2 or self.inputs_kept < 1 or self.rgb_range <= 0:
            raise ValueError("space.width >= 2, space.cells >= 2, space.inputs_kept >= 1 and space.rgb_range > 0 "
                             f"are needed, got {self.width}, {self.cells}, {self.inputs_kept}, {self.rgb_range}")
        if len(self.fixed_ops) != LAYERS or any(op not in PRIMITIVES for op in self.fixed_ops):
            raise ValueError(f"space.fixed_ops needs {LAYERS} ops from {', '.join(PRIMITIVES)}, got {self.fixed_ops}")
        if not (self.cell_search or self.network_search):
            raise ValueError("space.cell_search and space.network_search are both off: nothing to search")
        if self.network_search and self.cells < 3:
            raise ValueError("space.network_search needs space.cells >= 3 (the inputs of B3.. are searched)")
