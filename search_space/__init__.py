"""The HiNAS hierarchical search space. Imports only torch and the standard library."""

from .derived_net import DerivedNet, count_parameters
from .genotype import CellGenotype, Genotype
from .ops import DERIVABLE, OPS, PRIMITIVES
from .sampler import sample_cell, sample_genotype
from .space import SpaceConfig
from .supernet import Supernet

__all__ = [
    "DERIVABLE", "OPS", "PRIMITIVES", "CellGenotype", "DerivedNet", "Genotype", "SpaceConfig", "Supernet",
    "count_parameters", "sample_cell", "sample_genotype",
]
