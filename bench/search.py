"""Seconds per search iteration (one A-step + one W-step of HiNAS) and per retrain iteration, with a projection
of a full paper search's wall time. Printed figures, not a test.

Search: the 'paper' preset (denoising: f=10, L=3, B=4, batch 8, 64x64 crops) and the 'smoke' preset, on
batches from the built-in images through the real HiNAS method (Adam on alpha/beta, SGD on the weights).
Retrain: a derived net of a uniformly sampled genotype at width 20, batch 24, 64x64, one SGD step with the
Eq. 7 loss and gradient clipping, as trials/retrain.py does. Times are medians after warm-up iterations.
On a CUDA machine the same runs on the GPU too, plus the largest batch that fits (binary search on OOM).

Steps go through the search loop's own ``trials.search.search_step`` (pinned non_blocking copies on CUDA,
the forward under ``search.precision``) and end with the loop's read of the losses.

    python bench/search.py [--repeats 3] [--warmup 1] [--threads N] [--device cpu,cuda] [--no-gpu]
                           [--precision fp32,bf16] [--task denoise,sr] [--presets paper,smoke] [--json out.jsonl]
"""

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from orchestrator.presets import preset_config
from search_space import NetworkIO
from search_space.hinas import DerivedNet, sample_genotype
from trials.device import autocast
from trials.losses import restoration_loss
from trials.pipeline import make_method
from trials.search import search_step
from trials.workload import prepare

# A full paper search on BSD500: 300 train+val images, V = 2% (6), Train W = half the rest (147).
PAPER_EPOCHS, PAPER_WARMUP, PAPER_TRAIN_W = 100, 20, 147


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(step: Callable[[int], None], device: torch.device, warmup: int, repeats: int) -> float:
    times = []
    for i in range(warmup + repeats):
        sync(device)
        start = time.perf_counter()
        step(i)
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[warmup:])


def search_method(preset: str, device: torch.device, batch: int | None = None, task: str = "denoise",
                  precision: str = "fp32"):
    overrides = {"method.name": "hinas", "search.precision": precision}
    if batch:
        overrides["search.batch_size"] = batch
    cfg = preset_config(preset, task=task, overrides=overrides)
    work = prepare(cfg)
    method = make_method(cfg, device)  # seeds torch with cfg.seed (0) before building the supernet
    return cfg, work, method


def loop_step(method, work, device: torch.device, epoch: int) -> Callable[[int], None]:
    """The search loop's own step (trials/search.py), then the read of its losses (the loop's one sync)."""
    def step(i: int) -> None:
        search_step(method, work, epoch, i, device)
        method.loss_log.read()

    return step


def time_search(preset: str, device: torch.device, warmup: int, repeats: int, batch: int | None = None,
                task: str = "denoise", precision: str = "fp32") -> dict:
    """Seconds of an A-step and of a W-step (their sum is one search iteration after the warm-up epochs):
    the loop's step in a warm-up epoch (W only) and after it (A + W)."""
    cfg, work, method = search_method(preset, device, batch, task, precision)
    w_step = median_seconds(loop_step(method, work, device, 0), device, warmup, repeats)
    both = median_seconds(loop_step(method, work, device, method.config.warmup_epochs), device, warmup, repeats)
    return {"a_step": both - w_step, "w_step": w_step, "batch": cfg.search.batch_size, "crop": cfg.search.crop_size}


def retrain_step_fn(device: torch.device, batch: int, crop: int = 64, width: int = 20,
                    precision: str = "fp32") -> Callable[[int], None]:
    space = preset_config("paper", task="denoise").space
    torch.manual_seed(0)
    io = NetworkIO(in_channels=1, out_channels=1, scale=1)
    net = DerivedNet(sample_genotype(space, random.Random(0)), io, width).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-5)
    x = torch.rand(batch, 1, crop, crop, device=device)
    y = x.clamp(0, 1)

    def step(_: int) -> None:
        with autocast(device, precision):
            pred = net(x + 0.1 * torch.randn_like(x))
        loss, _terms = restoration_loss(pred.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(net.parameters(), 5.0)
        optimizer.step()

    return step


def time_retrain(device: torch.device, warmup: int, repeats: int, batch: int = 24, precision: str = "fp32") -> float:
    return median_seconds(retrain_step_fn(device, batch, precision=precision), device, warmup, repeats)


def paper_search_hours(a_step: float, w_step: float) -> float:
    """100 epochs x ceil(147/8) steps: 80 epochs of A+W steps, 20 warm-up epochs of W steps; no validation."""
    steps = math.ceil(PAPER_TRAIN_W / 8)
    seconds = (PAPER_EPOCHS - PAPER_WARMUP) * steps * (a_step + w_step) + PAPER_WARMUP * steps * w_step
    return seconds / 3600


def fits(run_once: Callable[[], None]) -> bool:
    try:
        run_once()
        return True
    except torch.cuda.OutOfMemoryError:
        return False
    finally:
        torch.cuda.empty_cache()


def largest_batch(make_step: Callable[[int], Callable[[int], None]], cap: int = 4096) -> int:
    """Largest batch in [1, cap] whose step runs without a CUDA OOM: doubling, then bisection."""
    def ok(batch: int) -> bool:
        return fits(lambda: make_step(batch)(0))

    low, high = 0, 1
    while high <= cap and ok(high):
        low, high = high, high * 2
    high = min(high, cap + 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if ok(mid) else (low, mid)
    return low


def search_step_for_batch(device: torch.device, task: str, precision: str) -> Callable[[int], Callable[[int], None]]:
    def make(batch: int) -> Callable[[int], None]:
        _, work, method = search_method("paper", device, batch, task, precision)
        return loop_step(method, work, device, method.config.warmup_epochs)

    return make


def peak_cuda_gib(step: Callable[[int], None], device: torch.device) -> float:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    step(0)
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**30


def report(device: torch.device, warmup: int, repeats: int, tasks: list[str], presets: list[str],
           precision: str, largest: bool, cap: int, retrain_batch: int = 24) -> list[tuple[str, str, float | int]]:
    """Rows of (label, printed value, the number for the results file)."""
    rows = []
    for task in tasks:
        for preset in presets:
            t = time_search(preset, device, warmup, repeats, task=task, precision=precision)
            label = f"{task} search iteration, {preset} (batch {t['batch']}, {t['crop']}px) [s]"
            rows.append((label, f"{t['a_step'] + t['w_step']:.4f} s  (A {t['a_step']:.4f} + W {t['w_step']:.4f})",
                         t["a_step"] + t["w_step"]))
            if preset == "paper" and task == "denoise":
                hours = paper_search_hours(t["a_step"], t["w_step"])
                rows.append(("  projected full paper denoising search [min]", f"{60 * hours:.1f} min", 60 * hours))
            if device.type == "cuda" and preset == "paper":
                _, work, method = search_method(preset, device, None, task, precision)
                gib = peak_cuda_gib(loop_step(method, work, device, method.config.warmup_epochs), device)
                rows.append((f"  {task} paper search step peak CUDA memory [GiB]", f"{gib:.3f} GiB", gib))
    seconds = time_retrain(device, warmup, repeats, retrain_batch, precision)
    rows.append((f"retrain iteration, width 20 (batch {retrain_batch}, 64px) [s]", f"{seconds:.4f} s", seconds))
    if device.type == "cuda" and largest:
        for task in tasks:
            n = largest_batch(search_step_for_batch(device, task, precision), cap)
            rows.append((f"largest {task} search batch (paper, 64px, cap {cap})", str(n), n))
        n = largest_batch(lambda b: retrain_step_fn(device, b, precision=precision), cap)
        rows.append((f"largest retrain batch (width 20, 64px, cap {cap})", str(n), n))
    return rows


def print_table(title: str, rows: list[tuple[str, str, float | int]]) -> None:
    width = max(len(label) for label, _, _ in rows)
    print(f"\n{title}")
    for label, value, _ in rows:
        print(f"  {label:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="auto", help="comma-separated cpu,cuda; auto: cpu, and cuda if present")
    parser.add_argument("--no-gpu", action="store_true", help="CPU only, even where CUDA is available")
    parser.add_argument("--precision", default="fp32", help="comma-separated: fp32,bf16 (search.precision)")
    parser.add_argument("--task", default="denoise", help="comma-separated: denoise,sr (their paper search configs)")
    parser.add_argument("--presets", default="paper,smoke")
    parser.add_argument("--no-largest-batch", action="store_true", help="skip the CUDA largest-batch search")
    parser.add_argument("--batch-cap", type=int, default=4096)
    parser.add_argument("--retrain-batch", type=int, default=24, help="the retraining step's batch (paper: 24)")
    parser.add_argument("--json", type=Path, default=None, help="append the figures to this JSON-lines file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() and not args.no_gpu else [])] \
        if args.device == "auto" else args.device.split(",")
    print(f"median of {args.repeats} iterations after {args.warmup} warm-up; torch {torch.__version__}")
    print(f"projection: {PAPER_EPOCHS} epochs x ceil({PAPER_TRAIN_W}/8) steps, {PAPER_WARMUP} warm-up epochs of "
          "W steps only, then A+W steps; validation, checkpoints and data loading not counted")
    for name in devices:
        device = torch.device(name)
        what = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
        for precision in args.precision.split(","):
            rows = report(device, args.warmup, args.repeats, args.task.split(","), args.presets.split(","),
                          precision, not args.no_largest_batch, args.batch_cap, args.retrain_batch)
            print_table(f"{name.upper()} ({what}), {precision}", rows)
            if args.json:
                with args.json.open("a") as out:
                    for label, _, value in rows:
                        out.write(json.dumps({"bench": "search", "device": name, "device_name": what,
                                              "precision": precision, "figure": label.strip(),
                                              "value": value}) + "\n")


if __name__ == "__main__":
    main()
