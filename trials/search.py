"""The shared search loop (hinas-spec section 8): per step the method's own step (weights, and architecture
when it trains it), validation from ``eval_from_epoch``, the best validated epoch's record.

Epochs are 0-based here; the config's ``eval_from_epoch`` is 1-based as in the paper ("from epoch 61").
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from trials import metric_names as M
from trials.config import SearchConfig
from trials.device import autocast, to_device
from trials.evaluate import Evaluation
from trials.methods import SearchMethod
from trials.optim import multistep_factor
from trials.workload import Workload


@dataclass
class SearchState:
    epoch: int = 0  # next epoch to run
    best: dict = field(default_factory=dict)  # score, epoch, psnr, ssim, genotype (JSON), arch_weights
    history: list[dict] = field(default_factory=list)  # one dict of metrics per finished epoch
    seconds: float = 0.0  # search wall time so far, across resumes

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "best": self.best, "history": self.history, "seconds": self.seconds}


def weight_lr(cfg: SearchConfig, epoch: int) -> float:
    """Cosine from w_lr to w_lr_min over the search (paper), the reference's cosine restarts x poly, or
    DLSR's multi-step decay."""
    if cfg.w_schedule == "multistep":
        return cfg.w_lr * multistep_factor(epoch, cfg.epochs, cfg.w_milestones, cfg.w_gamma)
    if cfg.w_schedule == "cosine":
        t = epoch / max(cfg.epochs - 1, 1)
        return cfg.w_lr_min + 0.5 * (cfg.w_lr - cfg.w_lr_min) * (1 + math.cos(math.pi * t))
    period = 20
    cosine = cfg.w_lr_min + 0.5 * (cfg.w_lr - cfg.w_lr_min) * (1 + math.cos(math.pi * (epoch % period) / period))
    return cosine * (1 - epoch / cfg.epochs) ** 0.9


def run_search(method: SearchMethod, work: Workload, state: SearchState, device: torch.device,
               on_epoch: Callable[[SearchState], None]) -> SearchState:
    """Runs the remaining epochs; ``on_epoch`` is called after each (it checkpoints and reports)."""
    cfg, net = method.ctx.loop, method.supernet
    net.train()
    while state.epoch < cfg.epochs:
        start = time.perf_counter()
        metrics = _train_epoch(method, work, state.epoch, device) | method.epoch_metrics()
        if state.epoch + 1 >= cfg.eval_from_epoch:
            metrics.update(_validate(method, work, state))
        state.seconds += time.perf_counter() - start
        state.history.append({"epoch": state.epoch + 1, **metrics})
        state.epoch += 1
        on_epoch(state)
    return state


def _train_epoch(method: SearchMethod, work: Workload, epoch: int, device: torch.device) -> dict:
    lr = weight_lr(method.ctx.loop, epoch)
    for group in method.w_optimizer.param_groups:
        group["lr"] = lr
    method.begin_epoch(epoch)
    losses = [search_step(method, work, epoch, epoch * work.steps_per_epoch + i, device)
              for i in range(work.steps_per_epoch)]
    # The epoch's one host synchronisation: every loss of its steps checked, the weight steps' read.
    values = method.loss_log.read(losses).tolist()
    return {M.TRAIN_LOSS: sum(values) / len(values), "lr": lr}


def search_step(method: SearchMethod, work: Workload, epoch: int, step: int, device: torch.device) -> torch.Tensor:
    """One step of the loop: the method's step (its weight step and, when it trains them, its architecture
    step, in its own order) on this step's batches, the forward passes under ``search.precision``; returns the
    weight step's loss, still on the device."""
    where = f"search epoch {epoch + 1}, step {step - epoch * work.steps_per_epoch + 1} (global step {step})"
    if method.epoch != epoch:  # a caller outside the loop (a bench, a test) steps into an epoch directly
        method.begin_epoch(epoch)
    batch = to_device(work.train_w.batch(step), device)
    with autocast(device, method.ctx.loop.precision):
        return method.step(batch, lambda: to_device(work.train_a.batch(step), device), step, where)


def _validate(method: SearchMethod, work: Workload, state: SearchState) -> dict:
    result = method.validate(work.val_pairs, state.epoch)
    score = method.score(result)
    metrics = {M.VAL_PSNR: result.psnr, M.VAL_SSIM: result.ssim, M.VAL_SCORE: score}
    if not state.best or score > state.best["score"]:
        state.best = best_record(method, result, score, state.epoch + 1)
    return metrics


def best_record(method: SearchMethod, result: Evaluation, score: float, epoch: int) -> dict:
    return {"score": score, "psnr": result.psnr, "ssim": result.ssim, "epoch": epoch,
            "genotype": method.current_genotype().to_json(), "arch_weights": method.arch_weights()}
