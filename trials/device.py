"""The device side of the hot loop: batches onto the device, cuDNN's settings, and the opt-in bf16 autocast.

On the CPU every function here leaves the numbers exactly as plain fp32 PyTorch computes them: pinning and
non_blocking copies apply to CUDA only, the cuDNN flags are read by CUDA convolutions only, and ``fp32``
precision opens no autocast region.
"""

import contextlib
import platform
import resource
from pathlib import Path

import torch

from trials import metric_names as M

PRECISIONS = ("fp32", "bf16")  # config keys search.precision and retrain.precision


def to_device(batch: tuple[torch.Tensor, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    """A (CPU) batch on ``device``. For CUDA it goes through pinned memory with non_blocking copies, so the
    copy is queued behind the previous step's kernels and the host goes on cutting the next batch."""
    if device.type != "cuda":
        return tuple(t.to(device) for t in batch)
    return tuple(t.pin_memory().to(device, non_blocking=True) for t in batch)


def configure_backends(deterministic: bool) -> None:
    """cuDNN deterministic kernels when asked for; otherwise cuDNN autotunes (benchmark mode picks the fastest
    convolution algorithm per shape: the search's shapes repeat every step)."""
    flags = cudnn_flags(deterministic)
    torch.backends.cudnn.deterministic = flags["cudnn.deterministic"]
    torch.backends.cudnn.benchmark = flags["cudnn.benchmark"]


def cudnn_flags(deterministic: bool) -> dict[str, bool]:
    return {"cudnn.deterministic": deterministic, "cudnn.benchmark": not deterministic}


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward passes' region: nothing for fp32; ``torch.autocast(device, bfloat16)`` for bf16.

    Autocast runs convolutions and matrix products in bf16 and keeps parameters, gradients and optimiser
    state in fp32. BatchNorm keeps its statistics in fp32 on both devices: it is on no autocast list, so it
    takes the bf16 activations with its fp32 weight and running buffers, and PyTorch's mixed-type kernels
    (cuDNN's on CUDA, the native one on the CPU) accumulate mean and variance in fp32 and update the fp32
    running buffers. The losses leave the region (``full_precision``) and are computed in fp32.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def full_precision(device_type: str) -> contextlib.AbstractContextManager:
    """Leaves an autocast region (for losses and backward passes, which autocast's docs keep outside)."""
    return torch.autocast(device_type, enabled=False)


def device_hours(seconds: float, device_type: str, threads: int) -> float:
    """GPU-hours on a GPU (one per trial), CPU-core-hours (wall time x torch threads) on a CPU."""
    return seconds / 3600 * (1 if device_type == "cuda" else threads)


def environment_tags(device: torch.device, deterministic: bool) -> dict[str, str]:
    """What a trial's cost and numbers were measured on: hardware, versions, determinism (MLflow tags)."""
    on_gpu = device.type == "cuda"
    return {
        M.TAG_HARDWARE: torch.cuda.get_device_name(device) if on_gpu else cpu_model(),
        M.TAG_DEVICE_HOURS_UNIT: "gpu" if on_gpu else "cpu-core",
        M.TAG_TORCH_VERSION: torch.__version__,
        M.TAG_CUDA_VERSION: torch.version.cuda or "none",
        # the flags the trial sets (``configure_backends``), not the process's state before it sets them
        M.TAG_DETERMINISM: ", ".join(f"{k}={v}" for k, v in {"deterministic": deterministic,
                                                             **cudnn_flags(deterministic)}.items()),
    }


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def reset_peak_memory(device: torch.device) -> None:
    """Starts the peak-memory counters afresh, so that a worker process that Ray reuses for several trials
    reports each trial's own peak. On Linux the resident peak (VmHWM) is reset through ``clear_refs``."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb(device: torch.device) -> float:
    """Peak since ``reset_peak_memory``: CUDA memory allocated on a GPU, the process's resident memory else."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """The process's peak resident memory: VmHWM where /proc has it (reset by ``reset_peak_memory``), else the
    lifetime peak that ``getrusage`` keeps."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
