"""Search spaces: the shared interface and registry (``core``), one folder per space. Imports only torch.

Importing this package fills ``SPACES`` with every space below.
"""

from . import autoderain, dlsr, hinas  # noqa: F401 - registers the spaces
from .core import (
    PARAMETER_PENALTY,
    RELAXATION,
    SAMPLER,
    SINGLE_PATH,
    SKIP_START,
    SPACES,
    Genotype,
    NetworkIO,
    SearchSpace,
    SpaceConfig,
    Supernet,
    count_parameters,
    genotype_from_dict,
    genotype_from_json,
    load_genotype,
)

SPACES.default = "hinas"

__all__ = [
    "PARAMETER_PENALTY", "RELAXATION", "SAMPLER", "SINGLE_PATH", "SKIP_START", "SPACES", "Genotype", "NetworkIO",
    "SearchSpace", "SpaceConfig", "Supernet", "count_parameters", "genotype_from_dict", "genotype_from_json",
    "load_genotype",
]
