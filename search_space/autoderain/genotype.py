"""An AutoDerain genotype: per RSEB of the U its two convolutions and whether it has the SE gate.

JSON (autoderain-spec 4): {"space": "autoderain", "C": 32, "levels": 3, "N": 2, "skip": "concat",
"se_reduction": 4, "blocks": [{"a": "conv_3x3", "b": "sep_conv_5x5", "se": true}, ...]} with (2 levels - 1) x N
blocks in U order: the encoder levels E0..E{L-2}, the bottleneck M, the decoder levels D{L-2}..D0.
"""

from dataclasses import dataclass
from typing import ClassVar

from ..core import Genotype as BaseGenotype
from .ops import OPS

SKIPS = ("concat", "add")


def stage_names(levels: int) -> list[str]:
    """E0.. E{L-2}, M, D{L-2}.. D0: the U's stages in the order their blocks run."""
    encoder = [f"E{i}" for i in range(levels - 1)]
    return encoder + ["M"] + [f"D{i}" for i in reversed(range(levels - 1))]


def num_blocks(levels: int, per_stage: int) -> int:
    return (2 * levels - 1) * per_stage


@dataclass(frozen=True)
class Block:
    a: str  # the first convolution (before the ReLU)
    b: str  # the second convolution
    se: bool  # squeeze-and-excitation on the residual branch

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "se": self.se}


@dataclass(frozen=True)
class Genotype(BaseGenotype):
    space: ClassVar[str] = "autoderain"
    blocks: tuple[Block, ...]
    width: int = 32  # C during the search (the derived net's width is the retraining's base width)
    levels: int = 3
    per_stage: int = 2  # N
    skip: str = "concat"
    se_reduction: int = 4

    def __post_init__(self) -> None:
        if self.levels < 2 or self.per_stage < 1:
            raise ValueError(f"an autoderain genotype needs levels >= 2 and N >= 1, got {self.levels}, "
                             f"{self.per_stage}")
        expected = num_blocks(self.levels, self.per_stage)
        if len(self.blocks) != expected:
            raise ValueError(f"an autoderain genotype with levels={self.levels}, N={self.per_stage} has "
                             f"{expected} blocks, got {len(self.blocks)}")
        bad = sorted({op for block in self.blocks for op in (block.a, block.b) if op not in OPS})
        if bad:
            raise ValueError(f"unknown autoderain ops {bad}; valid: {', '.join(OPS)}")
        if self.skip not in SKIPS:
            raise ValueError(f"skip must be one of {SKIPS}, got {self.skip!r}")

    def to_dict(self) -> dict:
        return {"C": self.width, "levels": self.levels, "N": self.per_stage, "skip": self.skip,
                "se_reduction": self.se_reduction, "blocks": [block.to_dict() for block in self.blocks]}

    @classmethod
    def from_dict(cls, data: dict) -> "Genotype":
        data = dict(data)
        data.pop("arch", None)  # the spec's own field name for the space
        blocks = tuple(Block(str(b["a"]), str(b["b"]), bool(b["se"])) for b in data["blocks"])
        return cls(blocks=blocks, width=int(data.get("C", 32)), levels=int(data.get("levels", 3)),
                   per_stage=int(data.get("N", 2)), skip=str(data.get("skip", "concat")),
                   se_reduction=int(data.get("se_reduction", 4)))
