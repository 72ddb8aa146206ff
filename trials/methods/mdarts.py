"""MDARTS (autoderain-spec 3): NASP's proximal iteration on a chain of slots, with the memory of one model.

Per step: (1) the architecture step on a fresh Train A batch: the forward runs at the one-hot point
prox_C1(a) (only the selected ops), the gradient there is applied to the continuous a by Adam
(BinaryConnect), then a is clipped to [0, 1] (prox_C2); the weights are frozen meanwhile. (2) The weight step:
a forward and backward through the selected ops only, the gradient norm clipped, the weights' optimiser step.
No unrolling, no warm-up by default (NASP has none), the last epoch's derivation is the result (NASP keeps no
best-epoch rule). Every default here is our reading of NASP's code for a space the paper does not publish.
"""

import random
from dataclasses import dataclass

import torch

from search_space import RELAXATION, Genotype
from trials.methods.base import (
    METHODS,
    ArchitectureFirst,
    Batch,
    LastOrBestSelection,
    MethodConfig,
    SearchContext,
    check_selection,
    check_warmup_leaves_arch_steps,
    frozen,
)
from trials.optim import backward

REGULARISERS = ("off", "l2", "params")
WARMUP_SAMPLINGS = ("selected", "uniform")


@dataclass(frozen=True)
class MDARTSConfig(MethodConfig):
    name: str = "mdarts"
    warmup_epochs: int = 0  # weights-only epochs first (NASP: none)
    # What the warm-up's weight steps train: selected (prox(a), NASP) | uniform (a uniformly drawn architecture
    # per step, so that every op has trained weights before a compares them: the spec's open question 6)
    warmup_sampling: str = "selected"
    a_lr: float = 3e-4  # NASP's Adam on a
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3
    # R(a): off | l2: sum a^2 * p_k / sum p (NASP's --l2) | params: sum prox(a) * p_k / max p (expected size)
    regulariser: str = "off"
    reg_weight: float = 0.0  # NASP's lambda (default 0)
    e_greedy: float = 0.0  # weight step on a uniformly drawn architecture with this probability (NASP: 0)
    select: str = "last"  # last (NASP) | best (the best validated epoch's)

    def __post_init__(self) -> None:
        check_selection(self.select)
        if self.warmup_sampling not in WARMUP_SAMPLINGS:
            raise ValueError(f"method.warmup_sampling={self.warmup_sampling!r}; valid: {', '.join(WARMUP_SAMPLINGS)}")
        if self.regulariser not in REGULARISERS:
            raise ValueError(f"method.regulariser={self.regulariser!r}; valid: {', '.join(REGULARISERS)}")
        if self.warmup_epochs < 0 or self.a_lr <= 0 or self.reg_weight < 0 or not 0 <= self.e_greedy <= 1:
            raise ValueError("method.warmup_epochs >= 0, method.a_lr > 0, method.reg_weight >= 0 and "
                             "method.e_greedy in [0, 1] are needed")


@METHODS.register
class MDARTS(LastOrBestSelection, ArchitectureFirst):
    name = "mdarts"
    label = "MDARTS"
    config_class = MDARTSConfig
    requires = frozenset({RELAXATION})
    inferred_tag = "autoderain_inferred"

    def __init__(self, config: MDARTSConfig, ctx: SearchContext):
        super().__init__(config, ctx)
        self.supernet.relaxation = "discrete"
        self.a_optimizer = torch.optim.Adam(self.supernet.arch_parameters(), lr=config.a_lr, betas=config.a_betas,
                                            weight_decay=config.a_weight_decay)
        self._previous: Genotype | None = None

    @classmethod
    def check(cls, config, loop, space) -> None:
        check_warmup_leaves_arch_steps(config, loop)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"w": self.w_optimizer, "a": self.a_optimizer}


    def arch_step(self, batch: Batch, where: str, weight_batch: Batch) -> None:
        net = self.supernet
        x, y = batch
        with frozen(net.weight_parameters()):
            loss = self.loss(net(x), y, where + " (architecture step)") + self.regulariser()
            self.a_optimizer.zero_grad(set_to_none=True)
            backward(loss, net.arch_parameters())
        self.a_optimizer.step()
        net.project_()

    def regulariser(self) -> torch.Tensor | float:
        """lambda * R(a): NASP's size-weighted l2 on a, or the selected ops' size over the largest's."""
        cfg = self.config
        if cfg.regulariser == "off" or cfg.reg_weight == 0:
            return 0.0
        a = self.supernet.a_conv  # (blocks, slots, ops)
        cost = self.supernet.op_parameter_counts().to(a.device)[:, None, :]
        if cfg.regulariser == "l2":
            return cfg.reg_weight * (a.pow(2) * cost / cost.sum(-1, keepdim=True)).sum()
        one_hot = torch.nn.functional.one_hot(a.argmax(-1), a.shape[-1]).to(a.dtype)
        straight_through = one_hot + a - a.detach()  # the value of prox_C1(a), the gradient of a
        return cfg.reg_weight * (straight_through * cost / cost.max()).sum()

    def weight_step(self, batch: Batch, step: int, where: str) -> torch.Tensor:
        x, y = batch
        genotype = self.training_genotype(step)
        loss = self.loss(self.supernet.forward_path(x, genotype), y, where + " (weight step)")
        self.sgd_step(loss)  # unselected ops are not in the graph: no gradient, no update
        return loss.detach()

    def training_genotype(self, step: int) -> Genotype:
        """prox_C1(a); a uniform draw in a uniform warm-up, or with probability e_greedy: a pure function of
        (seed, step, epoch, a)."""
        cfg = self.config
        rng = random.Random(f"{self.ctx.seed}:e-greedy:{step}")
        uniform = cfg.warmup_sampling == "uniform" and self.epoch < cfg.warmup_epochs
        if uniform or (cfg.e_greedy > 0 and rng.random() < cfg.e_greedy):
            return self.ctx.space.sample(self.ctx.space_config, rng)
        return self.supernet.derive()

    def evaluate_current(self, pairs):
        """The derived (discrete) network on the shared weights: what the search would return now."""
        return self.evaluate(pairs, forward=self.supernet.forward_selected)

    def current_genotype(self) -> Genotype:
        return self.supernet.derive()

    def epoch_metrics(self) -> dict[str, float]:
        """How many slot choices changed since the last epoch (convergence), and the blocks with SE on."""
        genotype = self.supernet.derive()
        metrics = {"se_blocks": float(sum(b.se for b in genotype.blocks))}
        if self._previous is not None:
            metrics["arch_changes"] = float(sum(
                (old.a != new.a) + (old.b != new.b) + (old.se != new.se)
                for old, new in zip(self._previous.blocks, genotype.blocks, strict=True)))
        self._previous = genotype
        return metrics
