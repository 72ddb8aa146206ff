"""Training-batch throughput of PatchSampler through make_loader, on the built-in data.

Cases: denoising (gray, sigma in {30, 50, 70}, 64x64 crops) and x4 SR (colour, 16x16 LR -> 64x64 HR crops: the
built-in photos are at most 256 px, too small for 64x64 LR crops at x4), batch 8 and 24, 0 and 2 workers.
Worker start-up is excluded (the clock starts after the first batch).

    PYTHONPATH=. python bench/loader.py [--batches 40]
"""

import argparse
import time

from trials.data import PatchSampler, load_search_set, make_loader

CASES = {  # name -> (task, crop_size (network input), scale)
    "denoise gray 64x64": ("denoise", 64, 1),
    "sr x4 colour 16->64": ("sr", 16, 4),
}
SEARCH_SIGMAS = (30, 50, 70)  # the denoising search draws sigma per sample from these


def case_sampler(task: str, crop: int, batch: int, scale: int) -> PatchSampler:
    """The search's training batches for one case: gray + noise for denoising, colour LR -> HR for SR."""
    images = load_search_set(color=task == "sr", scales=(scale,) if scale > 1 else ())
    sigmas = SEARCH_SIGMAS if task == "denoise" else ()
    return PatchSampler(images.pairs(scale), crop, batch, seed=0, scale=scale, sigmas=sigmas)


def loader_batches_per_second(sampler: PatchSampler, num_workers: int, num_batches: int = 40) -> float:
    """Batches per second delivered by ``make_loader``, after one warm-up batch."""
    loader = iter(make_loader(sampler, start_step=0, num_workers=num_workers, num_steps=num_batches + 1))
    next(loader)
    start = time.perf_counter()
    count = sum(1 for _ in loader)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    print(f"{'case':<22}{'batch':>6}{'workers':>8}{'batches/s':>11}{'samples/s':>11}")
    for name, (task, crop, scale) in CASES.items():
        for batch in (8, 24):
            sampler = case_sampler(task, crop, batch, scale)
            for workers in (0, 2):
                rate = loader_batches_per_second(sampler, workers, args.batches)
                print(f"{name:<22}{batch:>6}{workers:>8}{rate:>11.1f}{rate * batch:>11.0f}")
    compare_with_supernet_step()


def compare_with_supernet_step() -> None:
    """Loading must not be the bottleneck: one batch against one supernet A+W step (paper denoising config)."""
    from search_space import NetworkIO
    from search_space.hinas import HinasConfig, Supernet

    sampler = case_sampler("denoise", 64, 8, 1)
    load_s = 1 / loader_batches_per_second(sampler, 0, 20)
    net = Supernet(HinasConfig(), NetworkIO(in_channels=1, out_channels=1, scale=1))
    x, y = sampler.batch(0)
    net(x).sub(y).square().mean().backward()  # warm-up
    start = time.perf_counter()
    net(x).sub(y).square().mean().backward()
    step_s = 2 * (time.perf_counter() - start)  # an A-step and a W-step per search iteration
    print(f"\ndenoise batch 8, 64x64: loading {1000 * load_s:.1f} ms/batch (2 per iteration) vs supernet "
          f"A+W step {step_s:.2f} s: loading is {100 * 2 * load_s / step_s:.2f}% of an iteration")


if __name__ == "__main__":
    main()
