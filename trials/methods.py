"""Search methods: one small interface, HiNAS (gradient-based, first-order bi-level) and RSWS.

The search loop (trials/search.py) owns epochs, batches, learning rates, validation and checkpoints; a
method says what one step trains, what a validation scores and which genotype it ends with. A new
method is a new subclass registered in METHODS, not a branch in the loop.
"""

import contextlib
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator

import torch

from search_space import Genotype, Supernet, sample_genotype
from trials.config import SearchConfig
from trials.evaluate import Evaluation, evaluate_model
from trials.losses import checked_restoration_loss
from trials.optim import clipped_step

Batch = tuple[torch.Tensor, torch.Tensor]


class SearchMethod(ABC):
    name: str

    def __init__(self, supernet: Supernet, config: SearchConfig, seed: int, retrain_width: int):
        self.supernet, self.config, self.seed, self.retrain_width = supernet, config, seed, retrain_width
        self.w_optimizer = torch.optim.SGD(supernet.weight_parameters(), lr=config.w_lr,
                                           momentum=config.w_momentum, weight_decay=config.w_weight_decay)

    # --- hooks ------------------------------------------------------------------------------------------
    def arch_step(self, batch: Batch, where: str) -> None:  # noqa: B027 - optional hook
        """Update architecture parameters on a Train A batch (after the warm-up). Default: nothing."""

    @abstractmethod
    def weight_step(self, batch: Batch, step: int, where: str) -> float:
        """One SGD step on the shared weights with a Train W batch; returns the loss."""

    @abstractmethod
    def validate(self, pairs, epoch: int) -> Evaluation:
        """Scores the current supernet on validation pairs (for curves and best-epoch selection)."""

    @abstractmethod
    def current_genotype(self) -> Genotype:
        """The genotype this method would return if the search ended now."""

    def final_genotype(self, pairs, best: dict) -> tuple[Genotype, Evaluation | None]:
        """The search result. Default: the genotype of the best validated epoch (``best``, kept by the loop)."""
        return Genotype.from_json(best["genotype"]), None

    # --- state ------------------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"w": self.w_optimizer}

    def state_dict(self) -> dict:
        return {name: opt.state_dict() for name, opt in self.optimizers().items()}

    def load_state_dict(self, state: dict) -> None:
        for name, opt in self.optimizers().items():
            opt.load_state_dict(state[name])

    # --- shared pieces ----------------------------------------------------------------------------------
    def loss(self, output: torch.Tensor, target: torch.Tensor, where: str) -> torch.Tensor:
        return checked_restoration_loss(output, target, self.config.lam, self.config.pixel_loss, where)

    def sgd_step(self, loss: torch.Tensor) -> None:
        """The weights' SGD step; alpha/beta get no gradients."""
        clipped_step(self.w_optimizer, loss, self.w_optimizer.param_groups[0]["params"], self.config.grad_clip)


@contextlib.contextmanager
def _frozen(parameters: list[torch.nn.Parameter]) -> Iterator[None]:
    """requires_grad off for these parameters inside the block, restored afterwards (also on errors)."""
    previous = [p.requires_grad for p in parameters]
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(parameters, previous, strict=True):
            p.requires_grad_(flag)


class HiNAS(SearchMethod):
    """First-order DARTS-style alternation: an Adam step on alpha/beta (Train A), then an SGD step on
    the weights (Train W). Validation scores the whole supernet."""

    name = "hinas"

    def __init__(self, supernet: Supernet, config: SearchConfig, seed: int, retrain_width: int):
        super().__init__(supernet, config, seed, retrain_width)
        self.a_optimizer = torch.optim.Adam(supernet.arch_parameters(), lr=config.a_lr,
                                            betas=config.a_betas, weight_decay=config.a_weight_decay)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"w": self.w_optimizer, "a": self.a_optimizer}

    def arch_step(self, batch: Batch, where: str) -> None:
        x, y = batch
        # Only alpha/beta: the weights are frozen during this step's forward so that no op, including the
        # custom autograd functions of search_space/depthwise.py, computes weight gradients in its backward.
        with _frozen(self.supernet.weight_parameters()):
            loss = self.loss(self.supernet(x), y, where + " (architecture step)")
            self.a_optimizer.zero_grad(set_to_none=True)
            loss.backward(inputs=self.supernet.arch_parameters())
        self.a_optimizer.step()

    def weight_step(self, batch: Batch, step: int, where: str) -> float:
        x, y = batch
        loss = self.loss(self.supernet(x), y, where + " (weight step)")
        self.sgd_step(loss)
        return float(loss.detach())

    def validate(self, pairs, epoch: int) -> Evaluation:
        return evaluate_model(self.supernet, pairs, self.supernet.space, tile=self.config.val_tile)

    def current_genotype(self) -> Genotype:
        return self.supernet.derive(self.retrain_width)


class RSWS(SearchMethod):
    """Random search with weight sharing (rsws-spec): every step trains one uniformly drawn architecture
    on its single path; at the end N drawn architectures are scored on validation and the best is kept.
    alpha and beta are never updated. Draws are pure functions of (seed, purpose, index): reproducible
    and resumable without saving generator state."""

    name = "rsws"

    def draw(self, purpose: str, index: int) -> Genotype:
        rng = random.Random(f"{self.seed}:{purpose}:{index}")
        return sample_genotype(self.supernet.space, rng, self.retrain_width)

    def weight_step(self, batch: Batch, step: int, where: str) -> float:
        x, y = batch
        arch = self.draw("train", step)
        loss = self.loss(self.supernet.forward_path(x, arch), y, where + " (weight step)")
        self.sgd_step(loss)
        return float(loss.detach())

    def validate(self, pairs, epoch: int) -> Evaluation:
        """Mean score of 3 architectures drawn for this epoch: a curve of how well the shared weights do."""
        scores = [self._score(self.draw(f"validate-{epoch}", i), pairs) for i in range(3)]
        return Evaluation.mean(scores)

    def current_genotype(self) -> Genotype:
        return self.draw("select", 0)

    def final_genotype(self, pairs, best: dict) -> tuple[Genotype, Evaluation]:
        candidates = [self.draw("select", i) for i in range(self.config.rsws_samples)]
        if self.config.rsws_rescore_top > 0:
            quick = pairs[: self.config.rsws_score_images]
            ranked = sorted(candidates, key=lambda g: -self._score(g, quick).score)
            candidates = ranked[: self.config.rsws_rescore_top]
        scored = [(self._score(g, pairs), i, g) for i, g in enumerate(candidates)]
        best, _, genotype = max(scored, key=lambda t: (t[0].score, -t[1]))
        return genotype, best

    def _score(self, genotype: Genotype, pairs) -> Evaluation:
        return evaluate_model(self.supernet, pairs, self.supernet.space, tile=self.config.val_tile,
                              forward=lambda x: self.supernet.forward_path(x, genotype))


METHODS: dict[str, type[SearchMethod]] = {m.name: m for m in (HiNAS, RSWS)}
