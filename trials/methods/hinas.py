"""HiNAS's search (hinas-spec section 8): first-order DARTS-style alternation after a weights-only warm-up,
an Adam step on the architecture parameters (Train A), then an SGD step on the weights (Train W).
Validation scores the whole supernet; the best validated epoch's derived genotype is the result."""

from dataclasses import dataclass

import torch

from trials.methods.base import METHODS, Batch, MethodConfig, SearchContext, SearchMethod, frozen


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
class HiNAS(SearchMethod):
    name = "hinas"
    config_class = HinasMethodConfig

    def __init__(self, config: HinasMethodConfig, ctx: SearchContext):
        super().__init__(config, ctx)
        self.a_optimizer = torch.optim.Adam(self.supernet.arch_parameters(), lr=config.a_lr,
                                            betas=config.a_betas, weight_decay=config.a_weight_decay)

    @classmethod
    def check(cls, config: HinasMethodConfig, trial) -> None:
        if config.warmup_epochs > trial.search.epochs:
            raise ValueError(f"method.warmup_epochs={config.warmup_epochs} exceeds search.epochs="
                             f"{trial.search.epochs}")

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"w": self.w_optimizer, "a": self.a_optimizer}

    def wants_arch_step(self, epoch: int) -> bool:
        return epoch >= self.config.warmup_epochs

    def arch_step(self, batch: Batch, where: str, weight_batch: Batch) -> None:
        x, y = batch
        # Only the architecture parameters: the weights are frozen during this step's forward so that no op,
        # including the custom autograd functions of search_space/depthwise.py, computes weight gradients.
        with frozen(self.supernet.weight_parameters()):
            loss = self.loss(self.supernet(x), y, where + " (architecture step)")
            self.a_optimizer.zero_grad(set_to_none=True)
            loss.backward(inputs=self.supernet.arch_parameters())
        self.a_optimizer.step()

    def weight_step(self, batch: Batch, step: int, where: str) -> float:
        x, y = batch
        loss = self.loss(self.supernet(x), y, where + " (weight step)")
        self.sgd_step(loss)
        return float(loss.detach())

    def validate(self, pairs, epoch: int):
        return self.evaluate(pairs)

    def current_genotype(self):
        return self.supernet.derive()
