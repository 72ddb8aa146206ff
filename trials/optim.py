"""Optimisers, step schedules and the gradient step shared by the search's weight step and retraining."""

import torch

from trials.device import full_precision

OPTIMIZERS = ("sgd", "adam")
CLIP_MODES = ("value", "norm")


def make_optimizer(kind: str, parameters, lr: float, momentum: float, betas: tuple[float, float],
                   weight_decay: float) -> torch.optim.Optimizer:
    """SGD with momentum (HiNAS) or Adam (DLSR); ``momentum`` applies to SGD, ``betas`` to Adam."""
    if kind == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if kind == "adam":
        return torch.optim.Adam(parameters, lr=lr, betas=betas, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {kind!r}; valid: {', '.join(OPTIMIZERS)}")


def multistep_factor(index: int, total: int, milestones: tuple[float, ...], gamma: float) -> float:
    """MultiStepLR's factor at epoch/iteration ``index`` of ``total``; milestones are fractions of ``total``
    (the authors' [200, 400, 600] of 1000 epochs is (0.2, 0.4, 0.6)), so presets of any length keep them."""
    return gamma ** sum(index >= round(m * total) for m in milestones)


def clipped_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters: list[torch.nn.Parameter],
                 grad_clip: float | None, mode: str = "value") -> None:
    """Backward into ``parameters`` only (other leaves' gradients would be thrown away), clip every gradient
    value to +-grad_clip (HiNAS's reference) or their total norm to grad_clip (DLSR's retraining) unless
    grad_clip is None, then step."""
    optimizer.zero_grad(set_to_none=True)
    backward(loss, parameters)
    if grad_clip is not None:
        if mode == "norm":
            torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        else:
            torch.nn.utils.clip_grad_value_(parameters, grad_clip)
    optimizer.step()


def backward(loss: torch.Tensor, inputs: list[torch.nn.Parameter]) -> None:
    """Gradients of ``loss`` into ``inputs`` only, outside any autocast region (the backward ops take the
    forward's dtypes; autocast would recast them on the CPU, where backward runs in the caller's thread)."""
    with full_precision(loss.device.type):
        loss.backward(inputs=inputs)
