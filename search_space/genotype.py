"""The genotype: everything needed to rebuild a derived network, as one frozen dataclass with JSON I/O.

A cell genotype lists, per node, two (op, input) pairs. Inputs: 0 = older cell input, 1 = newer cell
input, j >= 2 = node j-2 of the same cell (hinas-spec section 6).
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .ops import DERIVABLE

Edge = tuple[str, int]  # (op name, input index)
NodeGenotype = tuple[Edge, Edge]
CellGenotype = tuple[NodeGenotype, ...]

TASKS = ("denoise", "sr")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Genotype:
    task: str  # "denoise" or "sr"
    in_channels: int  # 1 (gray) or 3 (color)
    scale: int  # SR upscale factor; 1 for denoising
    cells: tuple[CellGenotype, ...]  # one per layer with LWAS, else a single cell for every layer
    width_multipliers: tuple[float, ...]  # per layer: node width = int(base_width * multiplier)
    path: tuple[int, ...] | None  # searched width level per layer; None when widths were set by hand
    base_width: int  # f of the derived network (the paper retrains at 20)
    residual: bool  # residual learning (ResL)
    lwas: bool  # layer-wise architecture sharing: one cell per layer
    stem_multiplier: float = 1.0  # stem output width = int(base_width * this): level 0's width factor
    cell_sharing: bool = True  # how the supernet was searched (Eq. 5 vs Eq. 6); recorded, not rebuilt
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
    def node_widths(self) -> tuple[int, ...]:
        return tuple(int(self.base_width * m) for m in self.width_multipliers)

    def cell_for_layer(self, layer: int) -> CellGenotype:
        return self.cells[layer if self.lwas else 0]

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"genotype task {self.task!r} is not one of {TASKS}")
        if self.task == "denoise" and self.scale != 1:
            raise ValueError("a denoising genotype must have scale 1")
        if self.task == "sr" and self.scale not in (2, 3, 4):
            raise ValueError(f"SR scale must be 2, 3 or 4, got {self.scale}")
        expected_cells = self.layers if self.lwas else 1
        if len(self.cells) != expected_cells:
            raise ValueError(f"lwas={self.lwas} needs {expected_cells} cell(s), got {len(self.cells)}")
        for cell in self.cells:
            _validate_cell(cell, len(self.cells[0]))
        if self.path is not None:
            if len(self.path) != self.layers:
                raise ValueError("path and width_multipliers must have one entry per layer")
            if not is_legal_path(self.path):
                raise ValueError(f"illegal width path {self.path}: start at level 0 or 1, move at most 1")

    # --- JSON -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["format_version"] = FORMAT_VERSION
        data["cells"] = [[[list(edge) for edge in node] for node in cell] for cell in self.cells]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> "Genotype":
        data = dict(data)
        version = data.pop("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"genotype format_version {version} is not supported (expected {FORMAT_VERSION})")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown genotype fields: {sorted(unknown)}")
        data["cells"] = tuple(
            tuple(tuple((str(op), int(idx)) for op, idx in node) for node in cell) for cell in data["cells"]
        )
        data["width_multipliers"] = tuple(data["width_multipliers"])
        if data.get("path") is not None:
            data["path"] = tuple(int(p) for p in data["path"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "Genotype":
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Genotype":
        return cls.from_json(Path(path).read_text())


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
