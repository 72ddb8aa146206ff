"""The random-architecture baseline (Li & Talwalkar 2019; Yang et al., ICLR 2020): one genotype drawn
uniformly from the space by its own sampler with the trial's seed, no supernet training, then retrained and
evaluated exactly like a searched genotype. A search that does not beat it has found nothing its space does
not give by chance."""

import random
from dataclasses import dataclass

import torch

from search_space import SAMPLER, Genotype
from trials import metric_names as M
from trials.evaluate import Evaluation
from trials.methods.base import METHODS, Batch, MethodConfig, SearchMethod


@dataclass(frozen=True)
class RandomConfig(MethodConfig):
    name: str = "random_arch"


@METHODS.register
class RandomArchitecture(SearchMethod):
    name = "random_arch"
    label = "random architectures"
    config_class = RandomConfig
    requires = frozenset({SAMPLER})
    searches = False
    baseline = M.BASELINE_RANDOM_ARCHITECTURE

    def current_genotype(self) -> Genotype:
        # A pure function of the seed (as RSWS's draws): seed s gives the same architecture in every run.
        return self.ctx.space.sample(self.ctx.space_config, random.Random(f"{self.ctx.seed}:random"))

    def final_genotype(self, pairs, best: dict) -> tuple[Genotype, Evaluation | None]:
        return self.current_genotype(), None

    def weight_step(self, batch: Batch, step: int, where: str) -> torch.Tensor:
        raise RuntimeError("the random baseline trains no supernet: the search loop must not call it")

    def validate(self, pairs, epoch: int) -> Evaluation:
        raise RuntimeError("the random baseline validates no supernet: the search loop must not call it")

    def arch_weights(self) -> dict[str, torch.Tensor]:
        return {}  # nothing was searched
