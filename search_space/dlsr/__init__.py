"""DLSR (Huang et al., arXiv 2105.03939): distillation cells with searched ops and searched cell-to-cell
connections for lightweight super-resolution (dlsr-spec)."""

import itertools
import math
import random

from ..core import PARAMETER_PENALTY, SAMPLER, SINGLE_PATH, SPACES, NetworkIO, SearchSpace, count_parameters
from .authors import from_authors_checkpoint
from .cell import ESA_MIN_SIZE
from .genotype import FIRST_SEARCHED_CELL, Genotype
from .network import DerivedNet
from .ops import PENALTY_COSTS, PRIMITIVES
from .space import RFDN_OPS, DLSRConfig
from .supernet import Supernet


def input_choices(cfg: DLSRConfig, cell: int) -> list[tuple[int, ...]]:
    """The input sets cell B_cell can have in a derived network: every inputs_kept-subset of B1..B_{cell-1}."""
    earlier = range(1, cell)
    return list(itertools.combinations(earlier, min(cfg.inputs_kept, len(earlier))))


def sample_genotype(cfg: DLSRConfig, rng: random.Random) -> Genotype:
    """A uniform draw from the discrete space: each searched layer's op and each cell's input set."""
    cell = tuple(rng.choice(PRIMITIVES) for _ in cfg.fixed_ops) if cfg.cell_search else cfg.fixed_ops
    inputs = None
    if cfg.network_search:
        inputs = tuple(rng.choice(input_choices(cfg, k)) for k in range(FIRST_SEARCHED_CELL, cfg.cells + 1))
    return Genotype(cell=cell, inputs=inputs, cells=cfg.cells, rgb_range=cfg.rgb_range)


def num_architectures(cfg: DLSRConfig) -> int:
    cells = len(PRIMITIVES) ** len(cfg.fixed_ops) if cfg.cell_search else 1
    nets = math.prod(len(input_choices(cfg, k)) for k in range(FIRST_SEARCHED_CELL, cfg.cells + 1)) \
        if cfg.network_search else 1
    return cells * nets


@SPACES.register
class DLSRSpace(SearchSpace):
    name = "dlsr"
    label = "DLSR"
    config_class = DLSRConfig
    genotype_class = Genotype
    capabilities = frozenset({SINGLE_PATH, SAMPLER, PARAMETER_PENALTY})
    min_input_size = ESA_MIN_SIZE

    def check(self, cfg: DLSRConfig, io: NetworkIO) -> None:
        if io.in_channels != io.out_channels:
            raise ValueError(f"the dlsr space maps images to images of the same channels, got {io}")

    def supernet(self, cfg: DLSRConfig, io: NetworkIO) -> Supernet:
        return Supernet(cfg, io)

    def network(self, genotype: Genotype, io: NetworkIO, width: int) -> DerivedNet:
        return DerivedNet(genotype, io, width)

    def sample(self, cfg: DLSRConfig, rng: random.Random) -> Genotype:
        return sample_genotype(cfg, rng)

    def import_published(self, checkpoint, genotype_json: Genotype | dict | None = None):
        """The authors' checkpoints (DawnHH/DLSR-PyTorch) as (genotype, I/O, width, our state_dict); the
        genotype: ours, a genotype JSON dict or None (beta21): search_space/dlsr/authors.py."""
        return from_authors_checkpoint(checkpoint, genotype_json)

    def describe(self, cfg: DLSRConfig, io: NetworkIO, width: int, samples: int = 200, seed: int = 0) -> str:
        rng = random.Random(seed)
        derived = sorted(count_parameters(DerivedNet(sample_genotype(cfg, rng), io, width)) for _ in range(samples))
        net = Supernet(cfg, io)
        return "\n".join([
            f"DLSR search space: in_channels={io.in_channels} out_channels={io.out_channels} scale={io.scale}",
            f"  cells={cfg.cells}  search width nf={cfg.width}  inputs kept per cell={cfg.inputs_kept}",
            f"  cell search: {cfg.cell_search} ({len(PRIMITIVES)} ops x 3 layers, alpha shared by all cells)"
            + ("" if cfg.cell_search else f", fixed ops {cfg.fixed_ops}"),
            f"  network search: {cfg.network_search}" + (
                f" (beta over earlier cells for B3..B{cfg.cells})" if cfg.network_search else " (chain)"),
            f"  supernet: {sum(p.numel() for p in net.weight_parameters()):,} weights + "
            f"{sum(p.numel() for p in net.arch_parameters())} architecture parameters; "
            f"discrete architectures: {num_architectures(cfg):,}",
            f"  derived nets at width {width} over {samples} random genotypes: "
            f"{derived[0]:,}-{derived[-1]:,} weights (median {derived[samples // 2]:,})",
        ])


__all__ = ["PENALTY_COSTS", "PRIMITIVES", "RFDN_OPS", "DLSRConfig", "DLSRSpace", "DerivedNet", "Genotype",
           "Supernet", "from_authors_checkpoint", "input_choices", "num_architectures", "sample_genotype"]
