"""`python -m orchestrator space`: what a search space contains, in numbers a user can check."""

import random
import statistics

from search_space import DerivedNet, SpaceConfig, Supernet, count_parameters, sample_genotype


def describe_space(space: SpaceConfig, retrain_width: int, samples: int = 200, seed: int = 0) -> str:
    net = Supernet(space)
    rng = random.Random(seed)
    derived = sorted(count_parameters(DerivedNet(sample_genotype(space, rng, retrain_width))) / 1e6
                     for _ in range(samples))
    beta = "none (widths fixed by hand)" if net.beta is None else f"{tuple(net.beta.shape)} (layer, level, move)"
    widths = [space.layer_widths(layer) for layer in range(space.layers)]
    lines = [
        f"HiNAS search space: task={space.task} scale={space.scale} in_channels={space.in_channels}",
        f"  layers L={space.layers}  nodes B={space.nodes}  edges/cell k={space.edges_per_cell}  "
        f"search width f={space.base_width}  width factors={space.width_factors}",
        f"  switches: lwas={space.lwas} residual={space.residual} cell_sharing={space.cell_sharing} "
        f"width_search={space.width_search}" + (f" manual_widths={space.manual_widths}"
                                                if not space.width_search else ""),
        f"  node widths per layer (search): {widths}",
        f"  alpha: {tuple(net.alpha.shape)} (cells, edges, ops)   beta: {beta}",
        f"  supernet: {count_parameters(net) / 1e6:.3f} M weights, "
        f"{sum(len(c) for c in net.cells)} searching cells",
        f"  legal width paths: {len(space.legal_paths) if space.width_search else 1}   "
        f"discrete architectures: {space.num_architectures():.3e}",
        f"  derived nets at retrain width f={retrain_width} over {samples} random genotypes: "
        f"median {statistics.median(derived):.3f} M, range {derived[0]:.3f}-{derived[-1]:.3f} M "
        f"(10-90%: {derived[samples // 10]:.3f}-{derived[9 * samples // 10]:.3f} M)",
    ]
    return "\n".join(lines)
