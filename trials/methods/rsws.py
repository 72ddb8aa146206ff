"""Random search with weight sharing (rsws-spec): every step trains one uniformly drawn architecture on its
single path; at the end N drawn architectures are scored on validation and the best is kept. Architecture
parameters are never trained. Draws are pure functions of (seed, purpose, index): reproducible and
resumable without saving generator state."""

import random
from dataclasses import dataclass

import torch

from search_space import SAMPLER, SINGLE_PATH, Genotype
from trials import metric_names as M
from trials.evaluate import Evaluation
from trials.methods.base import METHODS, Batch, MethodConfig, SearchMethod


@dataclass(frozen=True)
class RSWSConfig(MethodConfig):
    name: str = "rsws"
    samples: int = 30  # N architectures scored on validation
    rescore_top: int = 0  # > 0: score on `score_images` first, re-score the top k on all of V
    score_images: int = 1

    def __post_init__(self) -> None:
        if self.samples <= 0 or self.rescore_top < 0 or self.score_images <= 0:
            raise ValueError("method.samples and method.score_images must be > 0, method.rescore_top >= 0")


@METHODS.register
class RSWS(SearchMethod):
    name = "rsws"
    label = "RSWS"
    config_class = RSWSConfig
    requires = frozenset({SINGLE_PATH, SAMPLER})
    baseline = M.BASELINE_RANDOM_SEARCH

    def draw(self, purpose: str, index: int) -> Genotype:
        rng = random.Random(f"{self.ctx.seed}:{purpose}:{index}")
        return self.ctx.space.sample(self.ctx.space_config, rng)

    def weight_step(self, batch: Batch, step: int, where: str) -> torch.Tensor:
        x, y = batch
        arch = self.draw("train", step)
        loss = self.loss(self.supernet.forward_path(x, arch), y, where + " (weight step)")
        self.sgd_step(loss)
        return loss.detach()

    def validate(self, pairs, epoch: int) -> Evaluation:
        """Mean score of 3 architectures drawn for this epoch: a curve of how well the shared weights do."""
        return Evaluation.mean([self._score(self.draw(f"validate-{epoch}", i), pairs) for i in range(3)])

    def current_genotype(self) -> Genotype:
        return self.draw("select", 0)

    def arch_weights(self) -> dict[str, torch.Tensor]:
        return {}  # nothing trained them: their initial values would only mislead

    def final_genotype(self, pairs, best: dict) -> tuple[Genotype, Evaluation]:
        cfg = self.config
        candidates = [self.draw("select", i) for i in range(cfg.samples)]
        if cfg.rescore_top > 0:
            quick = pairs[: cfg.score_images]
            ranked = sorted(candidates, key=lambda g: -self.score(self._score(g, quick)))
            candidates = ranked[: cfg.rescore_top]
        scored = [(self._score(g, pairs), i, g) for i, g in enumerate(candidates)]
        chosen, _, genotype = max(scored, key=lambda t: (self.score(t[0]), -t[1]))
        return genotype, chosen

    def _score(self, genotype: Genotype, pairs) -> Evaluation:
        return self.evaluate(pairs, forward=lambda x: self.supernet.forward_path(x, genotype))
