"""Ray + MLflow overhead per trial, and the speed-up of 2 concurrent CPU trials over running them in turn.

1. A trivial trial pipeline (1 search epoch of 1 step, 1 retrain iteration, 1 test image) is timed called
   directly, then as N trials of an ablation under the orchestrator (one at a time). Overhead per trial =
   (ablation wall time after Ray is up) / N - direct time. Ray's start-up is printed separately: it is paid
   once per invocation, not per trial.
2. Two smoke-preset trials with --max-concurrent 1 and 2 (1 CPU each): the wall-time ratio.

    python bench/overhead.py [--trials 4]
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL = ["search.epochs=1", "method.warmup_epochs=0", "search.eval_from_epoch=1", "search.steps_per_epoch=1",
           "retrain.iterations=1", "retrain.checkpoint_every=1", "data.max_test_images=1", "task.sigmas=30"]


def sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def trivial_config():
    """The smoke preset (denoising, HiNAS, as the ablation's trials) with the TRIVIAL overrides."""
    from orchestrator.presets import preset_config

    return preset_config("smoke", task="denoise", overrides=dict(item.split("=") for item in TRIVIAL))


def time_direct(repeats: int) -> float:
    """Median wall time of the trivial pipeline called in-process (imports and data loading excluded)."""
    import torch

    from trials.pipeline import run_trial

    torch.set_num_threads(1)  # as a 1-CPU trial under Ray
    cfg = trivial_config()
    times = []
    for i in range(repeats + 1):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            run_trial(cfg, Path(folder) / f"run{i}")
            times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def time_ablation(extra: list[str], seeds: int, concurrent: int) -> tuple[float, float]:
    """(seconds until Ray is up, seconds from then to the end) of an ablation run in a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        cmd = [sys.executable, "-u", "-m", "orchestrator", "ablation", "lwas", "--settings", "lwas",
               "--seeds", ",".join(map(str, range(seeds))), "--max-concurrent", str(concurrent), *sets(extra)]
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ray_up = None
        for line in process.stdout:
            if ray_up is None and re.match(r"Ray dashboard:", line):
                ray_up = time.perf_counter()
        if process.wait() != 0:
            raise RuntimeError(f"ablation failed: {' '.join(cmd)}")
        end = time.perf_counter()
    return ray_up - start, end - ray_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args()
    direct = time_direct(3)
    startup, under_ray = time_ablation(TRIVIAL, args.trials, concurrent=1)
    per_trial = under_ray / args.trials
    print(f"trivial trial called directly:        {direct:6.2f} s")
    print(f"same under Ray + MLflow, one at a time: {per_trial:6.2f} s per trial ({args.trials} trials)")
    print(f"  overhead per trial:                 {per_trial - direct:6.2f} s   (Ray start-up, once: {startup:.1f} s)")
    _, serial = time_ablation([], 2, concurrent=1)
    _, parallel = time_ablation([], 2, concurrent=2)
    print(f"2 smoke trials, 1 CPU each: one after the other {serial:.1f} s, concurrently {parallel:.1f} s, "
          f"speed-up x{serial / parallel:.2f}")


if __name__ == "__main__":
    main()
