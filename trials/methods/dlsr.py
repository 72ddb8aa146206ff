"""DLSR's search (dlsr-spec section 2): first-order DARTS on both levels. Each step: the weights' step on a
Train W batch, then, after the warm-up, one Adam step on alpha/beta on the architecture loss
L(train batch) + L(Train A batch) + P (the parameter penalty). The last epoch's derivation is the result.

The authors' P is computed from detached values, so it never moves alpha: ``param_penalty=detached`` keeps
that (the number is added, the gradient is not), ``differentiable`` lets ``penalty_weight * P`` steer.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from search_space import PARAMETER_PENALTY
from trials.methods.base import (
    METHODS,
    SELECTIONS,
    Batch,
    DifferentiableMethod,
    LastOrBestSelection,
    MethodConfig,
    check_warmup_leaves_arch_steps,
)

ARCH_LOSSES = ("train+val", "val")
PENALTIES = ("detached", "differentiable", "off")


@dataclass(frozen=True)
class DLSRMethodConfig(MethodConfig):
    name: str = "dlsr"
    warmup_epochs: int = 21  # weights only; the authors' code steps alpha/beta when the 0-based epoch is > 20
    a_lr: float = 3e-4
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-8
    arch_loss: str = "train+val"  # the authors' code: L(train batch) + L(arch batch); "val": L(arch batch)
    param_penalty: str = "detached"  # detached (the code: no effect) | differentiable | off
    penalty_weight: float = 1.0  # the paper's lambda is unknown
    select: str = "last"  # last: the final epoch's derivation (the code has no best-epoch rule) | best: validated

    def __post_init__(self) -> None:
        for key, value, valid in (("arch_loss", self.arch_loss, ARCH_LOSSES),
                                  ("param_penalty", self.param_penalty, PENALTIES),
                                  ("select", self.select, SELECTIONS)):
            if value not in valid:
                raise ValueError(f"method.{key}={value!r}; valid: {', '.join(valid)}")
        if self.warmup_epochs < 0 or self.a_lr <= 0 or self.penalty_weight < 0:
            raise ValueError("method.warmup_epochs >= 0, method.a_lr > 0 and method.penalty_weight >= 0 needed")


@METHODS.register
class DLSR(LastOrBestSelection, DifferentiableMethod):
    name = "dlsr"
    label = "DLSR"
    config_class = DLSRMethodConfig
    requires = frozenset({PARAMETER_PENALTY})

    def step(self, batch: Batch, arch_batch: Callable[[], Batch], step: int, where: str) -> torch.Tensor:
        """The authors' order: the weight step, then the architecture step (which also reads this batch)."""
        loss = self.weight_step(batch, step, where)
        if self.trains_arch():
            self.arch_step(arch_batch(), where, batch)
        return loss

    @classmethod
    def check(cls, config, loop, space) -> None:
        check_warmup_leaves_arch_steps(config, loop)

    def arch_loss(self, batch: Batch, weight_batch: Batch, where: str) -> torch.Tensor:
        """The authors' L(Train A batch) + L(this step's train batch) + P; the weights are frozen meanwhile,
        where the authors compute their gradients and clear them."""
        cfg = self.config
        loss = self.loss(self.supernet(batch[0]), batch[1], where)
        if cfg.arch_loss == "train+val":
            loss = loss + self.loss(self.supernet(weight_batch[0]), weight_batch[1], where)
        if cfg.param_penalty != "off":
            penalty = cfg.penalty_weight * self.supernet.parameter_penalty()
            loss = loss + (penalty.detach() if cfg.param_penalty == "detached" else penalty)
        return loss

    def epoch_metrics(self) -> dict[str, float]:
        """alpha's and beta's probabilities after the epoch, named by the space (the spec logs them every epoch)."""
        return self.supernet.arch_weight_metrics()
