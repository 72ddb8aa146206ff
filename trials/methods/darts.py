"""Softmax DARTS (first order) on a space with a relaxation switch: the same-space baseline of MDARTS.

Every op of every slot runs, mixed by softmax(a); the architecture step (Adam, the weights frozen) is on a
Train A batch, the weight step trains the whole mixture. The argmax derivation is the same as MDARTS's, so
only the relaxation differs: memory K paths instead of one, and the weights every op gets.
"""

from dataclasses import dataclass

import torch

from search_space import RELAXATION
from trials.methods.base import (
    METHODS,
    Batch,
    DifferentiableMethod,
    LastOrBestSelection,
    MethodConfig,
    SearchContext,
    check_selection,
    check_warmup_leaves_arch_steps,
)


@dataclass(frozen=True)
class DARTSConfig(MethodConfig):
    name: str = "darts"
    warmup_epochs: int = 0
    a_lr: float = 3e-4  # DARTS's Adam on alpha
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3
    select: str = "last"  # last (DARTS) | best (the best validated epoch's)

    def __post_init__(self) -> None:
        check_selection(self.select)
        if self.warmup_epochs < 0 or self.a_lr <= 0:
            raise ValueError("method.warmup_epochs must be >= 0 and method.a_lr > 0")


@METHODS.register
class DARTS(LastOrBestSelection, DifferentiableMethod):
    name = "darts"
    label = "DARTS"
    config_class = DARTSConfig
    requires = frozenset({RELAXATION})
    inferred_tag = "autoderain_inferred"

    def __init__(self, config: DARTSConfig, ctx: SearchContext):
        super().__init__(config, ctx)
        self.supernet.relaxation = "softmax"

    @classmethod
    def check(cls, config, loop, space) -> None:
        check_warmup_leaves_arch_steps(config, loop)

    def arch_loss(self, batch: Batch, weight_batch: Batch, where: str) -> torch.Tensor:
        x, y = batch
        return self.loss(self.supernet(x), y, where)
