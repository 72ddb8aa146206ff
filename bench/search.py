"""Seconds per search iteration (one A-step + one W-step of HiNAS) and per retrain iteration, with a projection
of a full paper search's wall time. Printed figures, not a test.

Search: the 'paper' preset (denoising: f=10, L=3, B=4, batch 8, 64x64 crops) and the 'smoke' preset, on
batches from the built-in images through the real HiNAS method (Adam on alpha/beta, SGD on the weights).
Retrain: a derived net of a uniformly sampled genotype at width 20, batch 24, 64x64, one SGD step with the
Eq. 7 loss and gradient clipping, as trials/retrain.py does. Times are medians after warm-up iterations.
On a CUDA machine the same runs on the GPU too, plus the largest batch that fits (binary search on OOM).

    python bench/search.py [--repeats 3] [--warmup 1] [--threads N] [--no-gpu]
"""

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable

import torch

from orchestrator.presets import preset_config
from search_space import NetworkIO
from search_space.hinas import DerivedNet, sample_genotype
from trials.losses import restoration_loss
from trials.pipeline import make_method
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


def search_method(preset: str, device: torch.device, batch: int | None = None):
    cfg = preset_config(preset, task="denoise",
                        overrides={"method.name": "hinas", **({"search.batch_size": batch} if batch else {})})
    work = prepare(cfg)
    method = make_method(cfg, device)  # seeds torch with cfg.seed (0) before building the supernet
    return cfg, work, method


def time_search(preset: str, device: torch.device, warmup: int, repeats: int, batch: int | None = None) -> dict:
    """Seconds of an A-step and of a W-step (their sum is one search iteration after the warm-up epochs)."""
    cfg, work, method = search_method(preset, device, batch)

    def to_device(b):
        return tuple(t.to(device) for t in b)

    def arch(i: int) -> None:
        method.arch_step(to_device(work.train_a.batch(i)), "bench", to_device(work.train_w.batch(i)))

    def weight(i: int) -> None:
        method.weight_step(to_device(work.train_w.batch(i)), i, "bench")

    return {"a_step": median_seconds(arch, device, warmup, repeats),
            "w_step": median_seconds(weight, device, warmup, repeats),
            "batch": cfg.search.batch_size, "crop": cfg.search.crop_size}


def retrain_step_fn(device: torch.device, batch: int, crop: int = 64, width: int = 20) -> Callable[[int], None]:
    space = preset_config("paper", task="denoise").space
    torch.manual_seed(0)
    io = NetworkIO(in_channels=1, out_channels=1, scale=1)
    net = DerivedNet(sample_genotype(space, random.Random(0)), io, width).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-5)
    x = torch.rand(batch, 1, crop, crop, device=device)
    y = x.clamp(0, 1)

    def step(_: int) -> None:
        loss, _terms = restoration_loss(net(x + 0.1 * torch.randn_like(x)), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(net.parameters(), 5.0)
        optimizer.step()

    return step


def time_retrain(device: torch.device, warmup: int, repeats: int, batch: int = 24) -> float:
    return median_seconds(retrain_step_fn(device, batch), device, warmup, repeats)


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


def search_step_for_batch(device: torch.device) -> Callable[[int], Callable[[int], None]]:
    def make(batch: int) -> Callable[[int], None]:
        _, work, method = search_method("paper", device, batch)

        def step(i: int) -> None:
            method.arch_step(tuple(t.to(device) for t in work.train_a.batch(i)), "bench",
                             tuple(t.to(device) for t in work.train_w.batch(i)))
            method.weight_step(tuple(t.to(device) for t in work.train_w.batch(i)), i, "bench")

        return step

    return make


def report(device: torch.device, warmup: int, repeats: int) -> list[tuple[str, str]]:
    rows = []
    for preset in ("paper", "smoke"):
        t = time_search(preset, device, warmup, repeats)
        label = f"search iteration, {preset} (batch {t['batch']}, {t['crop']}px)"
        rows.append((label, f"{t['a_step'] + t['w_step']:.3f} s  (A {t['a_step']:.3f} + W {t['w_step']:.3f})"))
        if preset == "paper":
            hours = paper_search_hours(t["a_step"], t["w_step"])
            rows.append(("  projected full paper search", f"{hours:.1f} h"))
    rows.append(("retrain iteration, width 20 (batch 24, 64px)", f"{time_retrain(device, warmup, repeats):.3f} s"))
    if device.type == "cuda":
        rows.append(("largest search batch (paper, 64px)", str(largest_batch(search_step_for_batch(device)))))
        rows.append(("largest retrain batch (width 20, 64px)",
                     str(largest_batch(lambda b: retrain_step_fn(device, b)))))
    return rows


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-gpu", action="store_true", help="CPU only, even where CUDA is available")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"median of {args.repeats} iterations after {args.warmup} warm-up; torch {torch.__version__}")
    print(f"projection: {PAPER_EPOCHS} epochs x ceil({PAPER_TRAIN_W}/8) steps, {PAPER_WARMUP} warm-up epochs of "
          "W steps only, then A+W steps; validation, checkpoints and data loading not counted")
    print_table(f"CPU ({torch.get_num_threads()} threads)", report(torch.device("cpu"), args.warmup, args.repeats))
    if torch.cuda.is_available() and not args.no_gpu:
        device = torch.device("cuda")
        print_table(f"GPU ({torch.cuda.get_device_name(device)})", report(device, args.warmup, args.repeats))


if __name__ == "__main__":
    main()
