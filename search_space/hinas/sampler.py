"""A uniform sampler of discrete architectures: what RSWS trains and scores (rsws-spec, points 2 and 5).

Uniform over the discrete space means: per node, an unordered pair of distinct inputs, uniform over all
pairs, each with an op uniform over the 6 non-`none` ops; and a width path uniform over all legal paths
(not uniform moves: paths are what the space contains).
"""

import random

from .genotype import CellGenotype, Genotype
from .ops import DERIVABLE
from .space import HinasConfig


def sample_cell(nodes: int, rng: random.Random) -> CellGenotype:
    cell = []
    for node in range(nodes):
        inputs = sorted(rng.sample(range(2 + node), 2))
        cell.append(tuple((rng.choice(DERIVABLE), j) for j in inputs))
    return tuple(cell)


def sample_genotype(space: HinasConfig, rng: random.Random) -> Genotype:
    cells = tuple(sample_cell(space.nodes, rng) for _ in range(space.num_alpha_cells))
    path = rng.choice(space.legal_paths) if space.width_search else None
    return space.genotype(cells, path)
