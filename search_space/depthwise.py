"""Depthwise convolutions with faster CPU backward passes than PyTorch's own (oneDNN) at the supernet's shapes.

- ``depthwise_conv``: one filter per channel. At 5x5, oneDNN has no depthwise kernel for the weight
  gradient and falls back to its generic grouped convolution; the gradient comes instead from a small C
  loop (``kernels/depthwise5x5_weight_grad.c``), 2-3x faster from 20 channels up (bench/depthwise.py). The C file is
  compiled on first use with the machine's C compiler and cached; without one, PyTorch's gradient is used.
- ``fanned_depthwise_conv``: n filters per channel (the grouped sep convs' first conv). oneDNN's input
  gradient for n > 1 is 2-3x slower than a one-filter-per-channel transposed conv plus a sum over each
  channel's n filters, which is what is used instead (input and weight gradients together: 1.2-1.6x).

Both compute exactly the convolution's gradients; only the summation order differs. Both are CPU paths
(``cpu_path``): a tensor on any other device (CUDA, meta), in another dtype, or under CPU autocast goes to
PyTorch's own ``F.conv2d``, whose CUDA kernels (cuDNN) need no help.
"""

import ctypes
import functools
import hashlib
import os
import subprocess
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

_SOURCE = Path(__file__).with_name("kernels") / "depthwise5x5_weight_grad.c"
_COMPILE_FLAGS = ("-O3", "-march=native", "-fPIC", "-shared")
# Below one 16-float vector of channels the C loop is no faster than oneDNN.
_MIN_KERNEL_CHANNELS = 16


def depthwise_conv(x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding, groups=C)`` with one filter per channel (weight: (C, 1, k, k))."""
    if cpu_path(x) and _kernel_applies(x, weight, padding):
        return _Depthwise5x5.apply(x, weight)
    return F.conv2d(x, weight, None, 1, padding, 1, x.shape[1])


def fanned_depthwise_conv(x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding, groups=C)`` for a depthwise conv with n filters per input channel
    (weight: (C*n, 1, k, k); output channel c*n + i is filter i of channel c)."""
    if weight.shape[0] == x.shape[1]:
        return depthwise_conv(x, weight, padding)
    if not cpu_path(x):
        return F.conv2d(x, weight, None, 1, padding, 1, x.shape[1])
    return _FannedDepthwiseConv.apply(x, weight, padding)


def cpu_path(x: torch.Tensor) -> bool:
    """Whether this module's own CPU gradients may run: fp32 CPU tensors outside autocast (under autocast the
    convolution must be PyTorch's, which autocast casts to bf16; the C loop reads fp32 memory only)."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_autocast_enabled("cpu")


def kernel_available() -> bool:
    """Whether the C weight-gradient kernel could be built and loaded on this machine."""
    return _load_kernel() is not None


def _kernel_applies(x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]) -> bool:
    return (weight.requires_grad and torch.is_grad_enabled() and tuple(weight.shape[1:]) == (1, 5, 5)
            and tuple(padding) == (2, 2)
            and x.shape[1] >= _MIN_KERNEL_CHANNELS and x.is_contiguous(memory_format=torch.channels_last)
            and _load_kernel() is not None)


class _Depthwise5x5(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, None, 1, 2, 1, x.shape[1])

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:  # oneDNN's depthwise backward-data is fast at 5x5
            grad_x = _onednn_gradient(grad_out, x, weight, (2, 2), "input")
        if ctx.needs_input_grad[1]:
            grad_weight = torch.empty_like(weight).copy_(_weight_grad_5x5(x, grad_out))
        return grad_x, grad_weight


def _weight_grad_5x5(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """The (C, 1, 5, 5) weight gradient from the C kernel, images split among torch's threads (ctypes
    releases the GIL); each thread sums into its own buffer, so the result does not depend on timing."""
    kernel = _load_kernel()
    batch, channels, height, width = x.shape
    x_nhwc = x.permute(0, 2, 3, 1).contiguous()  # no copy for channels_last tensors
    grad_nhwc = grad_out.permute(0, 2, 3, 1).contiguous()
    threads = max(1, min(torch.get_num_threads(), batch))
    bounds = [batch * t // threads for t in range(threads + 1)]
    partial = torch.zeros(threads, 5, 5, channels)

    def run(t: int) -> None:
        start, stop = bounds[t], bounds[t + 1]
        kernel(x_nhwc[start].data_ptr(), grad_nhwc[start].data_ptr(), partial[t].data_ptr(),
               stop - start, height, width, channels)

    list(_pool(threads).map(run, range(threads)))
    return partial.sum(0).permute(2, 0, 1).unsqueeze(1)


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="depthwise5x5")


@functools.cache
def _load_kernel():
    """The compiled kernel (a ctypes function), built once per source, compiler flags and CPU into the user's
    cache; None, with a warning, where no C compiler works."""
    try:
        source = _SOURCE.read_bytes()
        key = hashlib.sha256(source + " ".join(_COMPILE_FLAGS).encode() + _cpu_flags()).hexdigest()[:16]
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hinas-orchestrator" / "kernels"
        library = cache / f"depthwise5x5_weight_grad-{key}.so"
        if not library.exists():
            _compile(cache, library)
        function = ctypes.CDLL(str(library)).depthwise5x5_weight_grad
    except (OSError, subprocess.SubprocessError) as err:
        warnings.warn(f"search_space: the 5x5 depthwise weight-gradient kernel could not be built ({err}); "
                      "using PyTorch's, which is slower on CPU. Install a C compiler (gcc) to get it.",
                      stacklevel=2)
        return None
    function.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_long] * 4
    function.restype = None
    return function


def _compile(cache: Path, library: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    # Built under a temporary name, then renamed: trial workers on one machine may build at the same time.
    fd, temporary = tempfile.mkstemp(dir=cache, suffix=".so")
    os.close(fd)
    try:
        compiler = os.environ.get("CC", "cc")
        subprocess.run([compiler, *_COMPILE_FLAGS, str(_SOURCE), "-o", temporary], check=True,
                       capture_output=True, timeout=120)
        os.replace(temporary, library)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _cpu_flags() -> bytes:
    """The CPU's feature flags: -march=native builds must not be shared between different CPUs."""
    try:
        with open("/proc/cpuinfo", "rb") as info:
            return next((line for line in info if line.startswith(b"flags")), b"")
    except OSError:
        return b""


class _FannedDepthwiseConv(torch.autograd.Function):
    """Input gradient: a one-filter-per-channel transposed conv over all C*n channels, then a sum over
    each channel's n filters. Weight gradient: oneDNN's, which is fast for n > 1."""

    @staticmethod
    def forward(ctx, x, weight, padding):
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv2d(x, weight, None, 1, padding, 1, x.shape[1])

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        (batch, channels, height, width), fan = x.shape, weight.shape[0] // x.shape[1]
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            per_filter = F.conv_transpose2d(grad_out, weight, None, 1, ctx.padding, 0, weight.shape[0])
            # Summed in the NHWC order channels_last stores, so the result stays channels_last.
            grad_x = (per_filter.permute(0, 2, 3, 1).reshape(batch, height, width, channels, fan).sum(-1)
                      .permute(0, 3, 1, 2))
        if ctx.needs_input_grad[1]:
            grad_weight = _onednn_gradient(grad_out, x, weight, ctx.padding, "weight")
        return grad_x, grad_weight, None


def _onednn_gradient(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int],
                     which: str) -> torch.Tensor:
    """PyTorch's own gradient of the depthwise conv with respect to its "input" or its "weight" only."""
    wanted = [which == "input", which == "weight", False]
    grads = torch.ops.aten.convolution_backward(grad_out, x, weight, None, [1, 1], list(padding), [1, 1], False,
                                                [0, 0], x.shape[1], wanted)
    return grads[0] if which == "input" else grads[1]
