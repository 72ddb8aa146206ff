"""Scoring a network on (input, target) image pairs with the report metrics (scikit-image PSNR/SSIM)."""

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from trials.metrics import Protocol, evaluate, run_on_image


@dataclass(frozen=True)
class Evaluation:
    psnr: float
    ssim: float
    seconds_per_image: float = 0.0

    @staticmethod
    def mean(items: Sequence["Evaluation"]) -> "Evaluation":
        return Evaluation(statistics.fmean(e.psnr for e in items), statistics.fmean(e.ssim for e in items),
                          statistics.fmean(e.seconds_per_image for e in items))


class _Forward(torch.nn.Module):
    """Lets run_on_image (which takes a module) call an arbitrary forward, e.g. a single supernet path."""

    def __init__(self, owner: torch.nn.Module, forward: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.owner, self._forward = owner, forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x)


@torch.no_grad()
def evaluate_model(net: torch.nn.Module, pairs: Sequence[tuple[np.ndarray, np.ndarray]], protocol: Protocol,
                   scale: int = 1, tile: int | None = None, forward: Callable | None = None,
                   gray_files: Sequence[bool] = ()) -> Evaluation:
    """Mean PSNR/SSIM over pairs under the task's ``protocol``; ``scale``: output size / input size;
    ``gray_files``: per pair, whether its target was a 1-channel file (empty: none was)."""
    was_training = net.training
    net.eval()
    runner = _Forward(net, forward) if forward is not None else net
    psnrs, ssims, seconds = [], [], []
    try:
        for i, (source, target) in enumerate(pairs):
            start = time.perf_counter()
            output = run_on_image(runner, source, scale=scale, tile=tile)
            seconds.append(time.perf_counter() - start)
            p, s = evaluate(output, target, protocol, gray_file=bool(gray_files) and gray_files[i])
            psnrs.append(p)
            ssims.append(s)
    finally:
        net.train(was_training)
    return Evaluation(statistics.fmean(psnrs), statistics.fmean(ssims), statistics.fmean(seconds))
