"""The random-architecture baseline (Li & Talwalkar 2019; Yang et al., ICLR 2020): one genotype drawn
uniformly from the space by its own sampler with the trial's seed, no supernet training, then retrained and
evaluated exactly like a searched genotype. A search that does not beat it has found nothing its space does
not give by chance."""

import random
from dataclasses import dataclass

from search_space import SAMPLER, Genotype
from trials import metric_names as M
from trials.methods.base import METHODS, MethodConfig, NoSearch


@dataclass(frozen=True)
class RandomConfig(MethodConfig):
    name: str = "random_arch"


@METHODS.register
class RandomArchitecture(NoSearch):
    name = "random_arch"
    label = "random architectures"
    config_class = RandomConfig
    requires = frozenset({SAMPLER})
    baseline = M.BASELINE_RANDOM_ARCHITECTURE

    def current_genotype(self) -> Genotype:
        # A pure function of the seed (as RSWS's draws): seed s gives the same architecture in every run.
        return self.ctx.space.sample(self.ctx.space_config, random.Random(f"{self.ctx.seed}:random"))
