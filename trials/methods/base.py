"""What a search method is: one small interface; the search loop (trials/search.py) calls only these hooks.

The loop owns epochs, batches, the weights' learning rate, validation timing and checkpoints; a method says
what one step trains, what a validation scores, how a score ranks, which genotype it ends with and what its
summary holds. A new method is a new module with a registered subclass, never a branch in the loop.
"""

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch

from search_space import Genotype, SearchSpace, SpaceConfig, Supernet, genotype_from_json
from search_space.registry import Registry
from trials.device import full_precision
from trials.evaluate import Evaluation, evaluate_model
from trials.losses import LossFunction, LossLog, checked_loss
from trials.metrics import Protocol
from trials.optim import backward, clipped_step, make_optimizer
from trials.sections import SearchConfig

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class MethodConfig:
    """Base of every method's config section; ``name`` is the registry key of the method."""

    name: str


@dataclass
class SearchContext:
    """What a method works with: the supernet and its space, the loop's settings, the loss, the scoring."""

    supernet: Supernet
    space: SearchSpace
    space_config: SpaceConfig
    loop: SearchConfig
    loss: LossFunction
    protocol: Protocol  # the task's evaluation protocol for the search
    scale: int  # the supernet's output size / input size
    seed: int


class SearchMethod(ABC):
    name: ClassVar[str]
    label: ClassVar[str] = ""  # how tables name it ('HiNAS', 'RSWS'); empty: its name
    config_class: ClassVar[type[MethodConfig]]
    requires: ClassVar[frozenset[str]] = frozenset()  # space capabilities (search_space.core) it needs
    inferred_tag: ClassVar[str | None] = None  # its settings are our design, not a paper's: runs get this tag
    # False: the method trains no supernet (the random baseline); the loop runs no epoch and the genotype
    # comes straight from ``final_genotype``.
    searches: ClassVar[bool] = True
    baseline: ClassVar[str | None] = None  # a baseline's role (metric_names.BASELINE_*): its runs' baseline tag

    def __init__(self, config: MethodConfig, ctx: SearchContext):
        self.config, self.ctx, self.supernet = config, ctx, ctx.supernet
        self.epoch = 0  # the loop's current (0-based) epoch (``begin_epoch``)
        self.loss_log = LossLog()  # every loss of the steps, checked when the loop reads it
        loop = ctx.loop
        self.w_optimizer = make_optimizer(loop.w_optimizer, self.supernet.weight_parameters(), loop.w_lr,
                                          loop.w_momentum, loop.w_betas, loop.w_weight_decay)

    @classmethod  # noqa: B027 - optional hook
    def check(cls, config: MethodConfig, loop: SearchConfig, space: SpaceConfig) -> None:
        """Raises ValueError when the method cannot run with this search loop and space (checked before
        anything starts)."""

    # --- hooks ------------------------------------------------------------------------------------------
    def begin_epoch(self, epoch: int) -> None:
        """Before an epoch's steps (0-based): a method whose steps depend on the epoch reads ``self.epoch``."""
        self.epoch = epoch

    def step(self, batch: Batch, arch_batch: Callable[[], Batch], step: int, where: str) -> torch.Tensor:
        """One search step on a Train W ``batch``; ``arch_batch()`` draws the step's Train A batch, for methods
        that also move architecture parameters (in the order they choose). Returns the weight step's loss,
        detached and still on the device. Default: the weight step alone."""
        return self.weight_step(batch, step, where)

    def trains_arch(self) -> bool:
        """Whether this epoch's steps move architecture parameters (after a warm-up, for most). Default: no."""
        return False

    @abstractmethod
    def weight_step(self, batch: Batch, step: int, where: str) -> torch.Tensor:
        """One step on the shared weights with a Train W batch; returns the loss, detached and still on the
        device (the loop reads the step's losses together, in one host synchronisation)."""

    @abstractmethod
    def validate(self, pairs, epoch: int) -> Evaluation:
        """Scores the current supernet on validation pairs (for curves and best-epoch selection)."""

    def epoch_metrics(self) -> dict[str, float]:
        """Extra numbers logged after every search epoch (e.g. DLSR's alpha/beta probabilities). Default: none."""
        return {}

    def score(self, result: Evaluation) -> float:
        """What ranks validations (higher is better). Default: SSIM + PSNR/100 (hinas-spec section 8)."""
        return result.ssim + result.psnr / 100

    @abstractmethod
    def current_genotype(self) -> Genotype:
        """The genotype this method would return if the search ended now."""

    def arch_weights(self) -> dict[str, torch.Tensor]:
        """Architecture weights worth a picture at the best epoch ({} when the method trains none)."""
        return self.supernet.arch_weights()

    def final_arch_weights(self, best: dict) -> dict[str, torch.Tensor]:
        """The architecture weights of the final genotype (for heat maps). Default: the best epoch's."""
        return best.get("arch_weights") or {}

    def final_genotype(self, pairs, best: dict) -> tuple[Genotype, Evaluation | None]:
        """The search result and the validation that chose it (None: the best epoch's, kept by the loop)."""
        return genotype_from_json(best["genotype"]), None

    def summary(self, best: dict, selection: Evaluation | None) -> dict:
        """search.json's method part; ``selection_score`` is what chose the genotype (Optuna maximises it)."""
        summary = {"method": self.name, "best_epoch": best.get("epoch"), "best_score": best.get("score"),
                   "best_val_psnr": best.get("psnr"), "best_val_ssim": best.get("ssim")}
        if selection is None:
            return {**summary, "selection_score": best.get("score")}
        score = self.score(selection)
        return {**summary, "selected_val_psnr": selection.psnr, "selected_val_ssim": selection.ssim,
                "selected_val_score": score, "selection_score": score}

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
        """The loss in fp32, outside any autocast region; its finiteness is checked when ``loss_log`` is read."""
        with full_precision(output.device.type):
            return checked_loss(self.ctx.loss, output.float(), target, where, self.loss_log)

    def sgd_step(self, loss: torch.Tensor) -> None:
        """The weights' optimiser step; architecture parameters get no gradients."""
        loop = self.ctx.loop
        clipped_step(self.w_optimizer, loss, self.w_optimizer.param_groups[0]["params"], loop.grad_clip,
                     loop.clip_mode)

    def evaluate(self, pairs, forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Evaluation:
        return evaluate_model(self.supernet, pairs, self.ctx.protocol, self.ctx.scale, tile=self.ctx.loop.val_tile,
                              forward=forward)


@contextlib.contextmanager
def frozen(parameters: list[torch.nn.Parameter]) -> Iterator[None]:
    """requires_grad off for these parameters inside the block, restored afterwards (also on errors)."""
    previous = [p.requires_grad for p in parameters]
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(parameters, previous, strict=True):
            p.requires_grad_(flag)


class NoSearch(SearchMethod):
    """Methods that train no supernet (a fixed or a drawn architecture): the loop runs no epoch for them, and
    ``final_genotype`` returns ``current_genotype`` with no validation."""

    searches = False

    def weight_step(self, batch: Batch, step: int, where: str) -> torch.Tensor:
        raise RuntimeError(f"method {self.name} trains no supernet: the search loop must not call weight_step")

    def validate(self, pairs, epoch: int) -> Evaluation:
        raise RuntimeError(f"method {self.name} validates no supernet: the search loop must not call validate")

    def final_genotype(self, pairs, best: dict) -> tuple[Genotype, None]:
        return self.current_genotype(), None

    def arch_weights(self) -> dict[str, torch.Tensor]:
        return {}  # nothing was searched


SELECTIONS = ("last", "best")


class LastOrBestSelection(SearchMethod):
    """Methods whose ``config.select`` is ``last`` (the final epoch's derivation: DLSR's and NASP's code keep
    no best-epoch rule) or ``best`` (the best validated epoch's, the loop's record). Validations go through
    ``evaluate_current``; the last epoch's is kept so that ``last`` does not score it twice."""

    _last_validation: tuple[int | None, Evaluation | None] = (None, None)  # (0-based epoch, result)

    def evaluate_current(self, pairs) -> Evaluation:
        return self.evaluate(pairs)

    def validate(self, pairs, epoch: int) -> Evaluation:
        self._last_validation = (epoch, self.evaluate_current(pairs))
        return self._last_validation[1]

    def final_genotype(self, pairs, best: dict):
        if self.config.select == "best":
            return super().final_genotype(pairs, best)
        epoch, result = self._last_validation
        if epoch != self.ctx.loop.epochs - 1:  # the last epoch was not validated (or ran before a resume)
            result = self.evaluate_current(pairs)
        return self.current_genotype(), result

    def final_arch_weights(self, best: dict) -> dict[str, torch.Tensor]:
        return super().final_arch_weights(best) if self.config.select == "best" else self.arch_weights()


def check_warmup_leaves_arch_steps(config: MethodConfig, loop: SearchConfig) -> None:
    """The methods that train architecture weights after ``warmup_epochs`` need at least one epoch after it."""
    if config.warmup_epochs >= loop.epochs:
        raise ValueError(f"method.warmup_epochs={config.warmup_epochs} leaves no architecture step in "
                         f"search.epochs={loop.epochs}")


def check_selection(select: str) -> None:
    if select not in SELECTIONS:
        raise ValueError(f"method.select={select!r}; valid: {', '.join(SELECTIONS)}")


class ArchitectureFirst(SearchMethod):
    """Methods that, after ``config.warmup_epochs``, take an architecture step (``arch_step``) on the step's
    Train A batch before the weight step: first-order DARTS's order, and NASP's (MDARTS)."""

    def trains_arch(self) -> bool:
        return self.epoch >= self.config.warmup_epochs

    def step(self, batch: Batch, arch_batch: Callable[[], Batch], step: int, where: str) -> torch.Tensor:
        if self.trains_arch():
            self.arch_step(arch_batch(), where, batch)
        return self.weight_step(batch, step, where)


class DifferentiableMethod(ArchitectureFirst):
    """First-order DARTS-style methods (HiNAS, DLSR): the whole relaxed supernet trains on every weight step,
    and after ``config.warmup_epochs`` an Adam step (``a_lr``, ``a_betas``, ``a_weight_decay``) moves the
    architecture parameters on the loss ``arch_loss`` computes."""

    def __init__(self, config: MethodConfig, ctx: SearchContext):
        super().__init__(config, ctx)
        self.a_optimizer = torch.optim.Adam(self.supernet.arch_parameters(), lr=config.a_lr,
                                            betas=config.a_betas, weight_decay=config.a_weight_decay)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"w": self.w_optimizer, "a": self.a_optimizer}

    @abstractmethod
    def arch_loss(self, batch: Batch, weight_batch: Batch, where: str) -> torch.Tensor:
        """The architecture step's loss on a Train A batch (and this step's Train W batch)."""

    def arch_step(self, batch: Batch, where: str, weight_batch: Batch) -> None:
        # Only the architecture parameters: the weights are frozen during this step's forward so that no op,
        # including the custom autograd functions of search_space/depthwise.py, computes weight gradients.
        with frozen(self.supernet.weight_parameters()):
            loss = self.arch_loss(batch, weight_batch, where + " (architecture step)")
            self.a_optimizer.zero_grad(set_to_none=True)
            backward(loss, self.supernet.arch_parameters())
        self.a_optimizer.step()

    def weight_step(self, batch: Batch, step: int, where: str) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self.supernet(x), y, where + " (weight step)")
        self.sgd_step(loss)
        return loss.detach()

    def current_genotype(self) -> Genotype:
        return self.supernet.derive()


METHODS: Registry[type[SearchMethod]] = Registry("search method")
