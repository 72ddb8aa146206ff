"""Parameters and Mult-Adds of a network, counted by PyTorch's own ``torch.utils.flop_counter``.

Counted on the meta device: the shapes flow through the real modules, nothing is computed or allocated,
so a 720p count takes milliseconds. The counter counts matrix products and convolutions (2 FLOPs per
multiply-add); element-wise ops, pooling and interpolation are not counted, as in SR papers' "Mult-Adds".
SR papers quote Mult-Adds at a 1280x720 output (``output_size``), so the input is 1280/s x 720/s.
"""

import copy
import math
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from trials.metric_names import LATENCY_INPUT, LATENCY_REPEATS

HD_OUTPUT = (720, 1280)  # (height, width) of the output that Mult-Adds are quoted at


def input_size(scale: int, output_size: tuple[int, int] = HD_OUTPUT) -> tuple[int, int]:
    """The input (height, width) whose output is ``output_size`` at ``scale``: 360x640 at x2, 240x427 at x3."""
    return tuple(math.ceil(side / scale) for side in output_size)


def mult_adds(net: nn.Module, in_channels: int, size: tuple[int, int]) -> int:
    """Multiply-adds of one forward pass on a 1 x in_channels x size input."""
    meta = copy.deepcopy(net).to("meta")
    x = torch.empty(1, in_channels, *size, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        meta(x)
    return counter.get_total_flops() // 2


def latency_ms(net: nn.Module, in_channels: int, size: tuple[int, int] = LATENCY_INPUT,
               repeats: int = LATENCY_REPEATS) -> float:
    """Measured, not estimated: the median wall time (ms) of one forward pass on a 1 x in_channels x size
    input, on the net's device with the threads torch has, after one warm-up pass; on a GPU each pass is
    synchronised, so the time is the kernels' and not their launch."""
    device = next(net.parameters()).device
    x = torch.rand(1, in_channels, *size, generator=torch.Generator().manual_seed(0)).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            sync()
            start = time.perf_counter()
            net(x)
            sync()
            if i:  # the first pass warms caches and kernels up
                times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
