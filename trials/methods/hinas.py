"""HiNAS's search (hinas-spec section 8): first-order DARTS-style alternation after a weights-only warm-up,
an Adam step on the architecture parameters (Train A), then an SGD step on the weights (Train W).
Validation scores the whole supernet; the best validated epoch's derived genotype is the result."""

from dataclasses import dataclass

import torch

from trials.methods.base import METHODS, Batch, DifferentiableMethod, MethodConfig


@dataclass(frozen=True)
class HinasMethodConfig(MethodConfig):
    name: str = "hinas"
    warmup_epochs: int = 20  # weights only; architecture steps from epoch warmup_epochs + 1
    a_lr: float = 1e-3
    a_weight_decay: float = 1e-3
    a_betas: tuple[float, float] = (0.5, 0.999)  # the reference's Adam betas for alpha/beta

    def __post_init__(self) -> None:
        if self.warmup_epochs < 0 or self.a_lr <= 0:
            raise ValueError("method.warmup_epochs must be >= 0 and method.a_lr > 0")


@METHODS.register
class HiNAS(DifferentiableMethod):
    name = "hinas"
    label = "HiNAS"
    config_class = HinasMethodConfig

    @classmethod
    def check(cls, config: HinasMethodConfig, loop, space) -> None:
        if config.warmup_epochs > loop.epochs:
            raise ValueError(f"method.warmup_epochs={config.warmup_epochs} exceeds search.epochs={loop.epochs}")

    def arch_loss(self, batch: Batch, weight_batch: Batch, where: str) -> torch.Tensor:
        x, y = batch
        return self.loss(self.supernet(x), y, where)

    def validate(self, pairs, epoch: int):
        return self.evaluate(pairs)
