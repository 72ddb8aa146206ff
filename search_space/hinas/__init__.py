"""HiNAS (Zhang et al.): a hierarchical space of cells (inner) and a width path (outer), LWAS, cell sharing."""

import random
import statistics

from ..core import SAMPLER, SINGLE_PATH, SKIP_START, SPACES, NetworkIO, SearchSpace, count_parameters
from .derived_net import DerivedNet
from .genotype import CellGenotype, Genotype
from .ops import DERIVABLE, OPS, PRIMITIVES
from .sampler import sample_cell, sample_genotype
from .space import HinasConfig
from .supernet import Supernet


@SPACES.register
class HinasSpace(SearchSpace):
    name = "hinas"
    label = "HiNAS"
    config_class = HinasConfig
    genotype_class = Genotype
    capabilities = frozenset({SINGLE_PATH, SAMPLER, SKIP_START})
    reads_unnamed_genotypes = True  # genotype.json files of runs before the registries

    def supernet(self, cfg: HinasConfig, io: NetworkIO) -> Supernet:
        return Supernet(cfg, io)

    def network(self, genotype: Genotype, io: NetworkIO, width: int) -> DerivedNet:
        return DerivedNet(genotype, io, width)

    def sample(self, cfg: HinasConfig, rng: random.Random) -> Genotype:
        return sample_genotype(cfg, rng)

    def describe(self, cfg: HinasConfig, io: NetworkIO, width: int, samples: int = 200, seed: int = 0) -> str:
        net = Supernet(cfg, io)
        rng = random.Random(seed)
        derived = sorted(count_parameters(DerivedNet(sample_genotype(cfg, rng), io, width)) / 1e6
                         for _ in range(samples))
        beta = "none (widths fixed by hand)" if net.beta is None else f"{tuple(net.beta.shape)} (layer, level, move)"
        widths = [cfg.layer_widths(layer) for layer in range(cfg.layers)]
        return "\n".join([
            f"HiNAS search space: in_channels={io.in_channels} out_channels={io.out_channels} scale={io.scale}",
            f"  layers L={cfg.layers}  nodes B={cfg.nodes}  edges/cell k={cfg.edges_per_cell}  "
            f"search width f={cfg.base_width}  width factors={cfg.width_factors}",
            f"  switches: lwas={cfg.lwas} residual={cfg.residual} cell_sharing={cfg.cell_sharing} "
            f"width_search={cfg.width_search}" + (f" manual_widths={cfg.manual_widths}"
                                                  if not cfg.width_search else ""),
            f"  node widths per layer (search): {widths}",
            f"  alpha: {tuple(net.alpha.shape)} (cells, edges, ops)   beta: {beta}",
            f"  supernet: {count_parameters(net) / 1e6:.3f} M weights, "
            f"{sum(len(c) for c in net.cells)} searching cells",
            f"  legal width paths: {len(cfg.legal_paths) if cfg.width_search else 1}   "
            f"discrete architectures: {cfg.num_architectures():.3e}",
            f"  derived nets at retrain width f={width} over {samples} random genotypes: "
            f"median {statistics.median(derived):.3f} M, range {derived[0]:.3f}-{derived[-1]:.3f} M "
            f"(10-90%: {derived[samples // 10]:.3f}-{derived[9 * samples // 10]:.3f} M)",
        ])


__all__ = [
    "DERIVABLE", "OPS", "PRIMITIVES", "CellGenotype", "DerivedNet", "Genotype", "HinasConfig", "HinasSpace",
    "Supernet", "sample_cell", "sample_genotype",
]
