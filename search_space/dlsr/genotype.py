"""DLSR's genotype (dlsr-spec 8): the three ops every cell uses and the inputs of cells 3..n.

JSON: {"space": "dlsr", "cell": [op1, op2, op3], "inputs": {"B3": [1, 2], ..., "B6": [4, 5]}, "cells": 6,
"rgb_range": 255}. Cells are numbered from 1 as in the paper; cells 1 and 2 always take the stem's and
cell 1's output. ``inputs`` null: each cell takes the previous cell's output (RFDN's wiring, the
cell-search-only ablation). Width is not part of it: it is given when a network is built.
"""

from dataclasses import dataclass
from typing import ClassVar

from ..core import Genotype as GenotypeBase
from .cell import LAYERS
from .ops import PRIMITIVES

FIRST_SEARCHED_CELL = 3  # B1 reads the stem, B2 reads B1; the inputs of B3.. are searched


@dataclass(frozen=True)
class Genotype(GenotypeBase):
    space: ClassVar[str] = "dlsr"
    cell: tuple[str, ...]
    inputs: tuple[tuple[int, ...], ...] | None  # per cell from B3: 1-based indices of earlier cells, ascending
    cells: int = 6
    rgb_range: float = 255.0  # images are scaled to 0..rgb_range inside the network, as the authors train

    def __post_init__(self) -> None:
        if len(self.cell) != LAYERS or any(op not in PRIMITIVES for op in self.cell):
            raise ValueError(f"a DLSR genotype's cell needs {LAYERS} ops from {', '.join(PRIMITIVES)}, "
                             f"got {list(self.cell)}")
        if self.cells < 2 or self.rgb_range <= 0:
            raise ValueError(f"a DLSR genotype needs cells >= 2 and rgb_range > 0, got {self.cells}, {self.rgb_range}")
        if self.inputs is None:
            return
        if len(self.inputs) != self.cells - FIRST_SEARCHED_CELL + 1:
            raise ValueError(f"a DLSR genotype with {self.cells} cells needs inputs for B{FIRST_SEARCHED_CELL}.."
                             f"B{self.cells}, got {len(self.inputs)} entries")
        for k, chosen in enumerate(self.inputs, start=FIRST_SEARCHED_CELL):
            if not chosen or list(chosen) != sorted(set(chosen)) or not all(1 <= j < k for j in chosen):
                raise ValueError(f"inputs of B{k} must be distinct, ascending cells among B1..B{k - 1}, got {chosen}")

    def to_dict(self) -> dict:
        inputs = None if self.inputs is None else {
            f"B{k}": list(chosen) for k, chosen in enumerate(self.inputs, start=FIRST_SEARCHED_CELL)}
        return {"cell": list(self.cell), "inputs": inputs, "cells": self.cells, "rgb_range": self.rgb_range}

    @classmethod
    def from_dict(cls, data: dict) -> "Genotype":
        data = dict(data)
        cells = int(data.pop("cells", 6))
        inputs = data.pop("inputs", None)
        if inputs is not None:
            missing = [f"B{k}" for k in range(FIRST_SEARCHED_CELL, cells + 1) if f"B{k}" not in inputs]
            if missing or len(inputs) != len(range(FIRST_SEARCHED_CELL, cells + 1)):
                raise ValueError(f"DLSR genotype inputs need exactly the keys B{FIRST_SEARCHED_CELL}..B{cells}, "
                                 f"got {sorted(inputs)}")
            inputs = tuple(tuple(sorted(int(j) for j in inputs[f"B{k}"]))
                           for k in range(FIRST_SEARCHED_CELL, cells + 1))
        unknown = set(data) - {"cell", "rgb_range"}
        if unknown:
            raise ValueError(f"unknown DLSR genotype fields: {sorted(unknown)}")
        return cls(cell=tuple(data["cell"]), inputs=inputs, cells=cells,
                   rgb_range=float(data.get("rgb_range", 255.0)))

    def describe(self) -> str:
        wiring = "chain" if self.inputs is None else " ".join(
            f"B{k}<-{{{','.join(f'B{j}' for j in chosen)}}}"
            for k, chosen in enumerate(self.inputs, start=FIRST_SEARCHED_CELL))
        return f"cell ({', '.join(self.cell)}) x{self.cells}; {wiring}"
