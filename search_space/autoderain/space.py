"""AutoDerain's config section. Only the paper's abstract is public, so every key below is our design
([inf] in autoderain-spec 2): runs of this space are tagged ``autoderain_inferred=1``."""

from dataclasses import dataclass
from typing import ClassVar

from ..core import SpaceConfig
from .genotype import SKIPS
from .ops import OPS


@dataclass(frozen=True)
class AutoDerainConfig(SpaceConfig):
    name: str = "autoderain"
    width: int = 32  # C of the first level during the search ("U3-N2" at C=32)
    levels: int = 3  # U depth L: L-1 downsamplings, the bottleneck at C * 2^(L-1)
    per_stage: int = 2  # N RSEBs per encoder level, bottleneck and decoder level
    skip: str = "concat"  # how the decoder fuses the encoder's features: concat + conv1x1 | add
    ops: tuple[str, ...] = OPS  # the candidate convolutions of every slot (argmax ties: the first)
    shared_choice: bool = False  # one conv choice for both slots of a block instead of one per slot
    se_search: bool = True  # False: the SE gate is on in every block, not searched
    se_reduction: int = 4  # SE's r (SENet's 16 leaves 2 channels at C = 32)
    init_noise: float = 1e-3  # a = 0.5 + init_noise * N(0, 1), clipped: NASP's exact 0.5 ties every argmax

    size_limits: ClassVar[dict[str, int]] = {"levels": 8, "per_stage": 50}  # the abstract's U3-N2

    def __post_init__(self) -> None:
        if self.width < 2 or self.levels < 2 or self.per_stage < 1 or self.se_reduction < 1:
            raise ValueError("space.width >= 2, space.levels >= 2, space.per_stage >= 1 and space.se_reduction >= 1 "
                             f"are needed, got {self.width}, {self.levels}, {self.per_stage}, {self.se_reduction}")
        if self.skip not in SKIPS:
            raise ValueError(f"space.skip must be one of {', '.join(SKIPS)}, got {self.skip!r}")
        unknown = [op for op in self.ops if op not in OPS]
        if unknown or not self.ops or len(set(self.ops)) != len(self.ops):
            raise ValueError(f"space.ops needs distinct ops from {', '.join(OPS)}, got {self.ops}")
        if len(self.ops) == 1 and not self.se_search:
            raise ValueError("space.ops has one op and space.se_search is off: nothing to search")
        if self.init_noise < 0:
            raise ValueError(f"space.init_noise must be >= 0, got {self.init_noise}")
