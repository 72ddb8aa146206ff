"""HiNAS's genotype: the discrete architecture, one frozen dataclass with JSON I/O naming the space.

Architecture only: the task's I/O (channels, scale) and the run-time width f are given when a network is
built (``HinasSpace.network``). A cell genotype lists, per node, two (op, input) pairs. Inputs: 0 = older
cell input, 1 = newer cell input, j >= 2 = node j-2 of the same cell (hinas-spec section 6).
"""

from dataclasses import asdict, dataclass, fields
from typing import ClassVar

from ..core import Genotype as BaseGenotype
from .ops import DERIVABLE

Edge = tuple[str, int]  # (op name, input index)
NodeGenotype = tuple[Edge, Edge]
CellGenotype = tuple[NodeGenotype, ...]

FORMAT_VERSION = 2
# Version 1 (no "space" field) also held the task I/O, the width and search-time switches; reading it drops them.
_V1_RUN_TIME_FIELDS = ("task", "in_channels", "scale", "base_width", "lwas", "cell_sharing")


@dataclass(frozen=True)
class Genotype(BaseGenotype):
    space: ClassVar[str] = "hinas"

    cells: tuple[CellGenotype, ...]  # one per layer (LWAS), or a single cell for every layer
    width_multipliers: tuple[float, ...]  # per layer: node width = int(f * multiplier)
    path: tuple[int, ...] | None  # searched width level per layer; None when widths were set by hand
    residual: bool  # residual learning (ResL)
    stem_multiplier: float = 1.0  # stem output width = int(f * this): level 0's width factor
    stem_width: int = 64
    head_width: int = 64

    def __post_init__(self) -> None:
        # Canonical types, so that a genotype equals its own JSON round-trip (2 and 2.0 print differently).
        object.__setattr__(self, "width_multipliers", tuple(float(m) for m in self.width_multipliers))
        object.__setattr__(self, "stem_multiplier", float(self.stem_multiplier))
        self.validate()

    @property
    def layers(self) -> int:
        return len(self.width_multipliers)

    @property
    def nodes(self) -> int:
        return len(self.cells[0])

    @property
    def lwas(self) -> bool:
        """Whether each layer has its own cell (layer-wise architecture sharing)."""
        return len(self.cells) > 1

    def node_widths(self, width: int) -> tuple[int, ...]:
        return tuple(int(width * m) for m in self.width_multipliers)

    def cell_for_layer(self, layer: int) -> CellGenotype:
        return self.cells[layer if self.lwas else 0]

    def validate(self) -> None:
        if len(self.cells) not in (1, self.layers):
            raise ValueError(f"{self.layers} layers need 1 shared cell or one cell per layer, got {len(self.cells)}")
        for cell in self.cells:
            _validate_cell(cell, len(self.cells[0]))
        if self.path is not None:
            if len(self.path) != self.layers:
                raise ValueError("path and width_multipliers must have one entry per layer")
            if not is_legal_path(self.path):
                raise ValueError(f"illegal width path {self.path}: start at level 0 or 1, move at most 1")

    # --- JSON -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = {"format_version": FORMAT_VERSION, **asdict(self)}
        data["cells"] = [[[list(edge) for edge in node] for node in cell] for cell in self.cells]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Genotype":
        data = dict(data)
        version = data.pop("format_version", FORMAT_VERSION)
        if version == 1:
            for name in _V1_RUN_TIME_FIELDS:
                data.pop(name, None)
        elif version != FORMAT_VERSION:
            raise ValueError(f"HiNAS genotype format_version {version} is not supported (1 or {FORMAT_VERSION})")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown HiNAS genotype fields: {sorted(unknown)}")
        data["cells"] = tuple(
            tuple(tuple((str(op), int(idx)) for op, idx in node) for node in cell) for cell in data["cells"]
        )
        data["width_multipliers"] = tuple(data["width_multipliers"])
        if data.get("path") is not None:
            data["path"] = tuple(int(p) for p in data["path"])
        return cls(**data)


def _validate_cell(cell: CellGenotype, nodes: int) -> None:
    if len(cell) != nodes:
        raise ValueError(f"every cell needs {nodes} nodes, got {len(cell)}")
    for i, node in enumerate(cell):
        if len(node) != 2:
            raise ValueError(f"node {i} needs exactly 2 inputs, got {len(node)}")
        inputs = [idx for _, idx in node]
        if len(set(inputs)) != 2 or not all(0 <= idx < 2 + i for idx in inputs):
            raise ValueError(f"node {i} inputs {inputs} must be 2 distinct values in [0, {2 + i})")
        for op, _ in node:
            if op not in DERIVABLE:
                raise ValueError(f"op {op!r} is not allowed in a derived cell; choose from {DERIVABLE}")


def is_legal_path(path: tuple[int, ...], levels: int = 3) -> bool:
    """First level 0 or 1 (the stem sits at level 0), then moves of at most one level, within range."""
    previous = 0
    for level in path:
        if not 0 <= level < levels or abs(level - previous) > 1:
            return False
        previous = level
    return True
