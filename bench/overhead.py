"""Where an ablation's time goes besides the trials' own compute, measured in one run as ratios that hold on a
noisy machine.

1. A trivial trial pipeline (1 search epoch of 1 step, 1 retrain iteration, 1 test image) is timed called
   directly (in-process, imports and data loading excluded), then as N trials of an ablation under the
   orchestrator, one at a time. From the console's timestamps:
   - before Ray: the command's imports, config, data and disk checks, the MLflow store;
   - Ray start-up (``ray.init`` with the dashboard, as the console prints it);
   - the first trial (its worker process starts and imports torch, MLflow, ...);
   - per trial once the worker is warm (Tune reuses it), and its overhead = that - the direct time;
   - closing: reference rows, table, report, Ray's shutdown.
2. One smoke trial called directly: the overhead per trial as a share of a smoke trial's compute.
3. Two smoke-preset trials with --max-concurrent 1 and 2 (1 CPU each): the wall-time ratio.
4. The README's main job's floor on this machine: its smoke trials' compute spread perfectly over the cores,
   plus the once-per-command parts measured in 1; and the smoke trial that 5 minutes would allow.

    python bench/overhead.py [--trials 4] [--skip-smoke]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAIN_JOB_S = 300.0  # the README's first command's target: 5 minutes
TRIVIAL = ["search.epochs=1", "method.warmup_epochs=0", "search.eval_from_epoch=1", "search.steps_per_epoch=1",
           "retrain.iterations=1", "retrain.checkpoint_every=1", "data.max_test_images=1", "task.sigmas=30"]


def sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def time_direct(repeats: int, overrides: list[str] | None = None) -> float:
    """Median wall time of the pipeline called in-process (imports and data loading excluded): the trivial
    trial, or the smoke preset with ``overrides=[]``."""
    import torch

    from orchestrator.presets import preset_config
    from trials.pipeline import run_trial

    torch.set_num_threads(1)  # as a 1-CPU trial under Ray
    items = TRIVIAL if overrides is None else overrides
    cfg = preset_config("smoke", task="denoise", overrides=dict(item.split("=") for item in items))
    times = []
    for i in range(repeats + 1):  # the first run warms up (lazy imports, the C kernel's cache)
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            run_trial(cfg, Path(folder) / f"run{i}")
            times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


@dataclass
class Timeline:
    """Seconds from the command's start: Ray's dashboard line, each trial's end line, the process's end."""

    ray_line: float
    ray_seconds: float  # what the console says ray.init took
    trial_ends: list[float]
    end: float

    @property
    def before_ray(self) -> float:
        return self.ray_line - self.ray_seconds

    @property
    def first_trial(self) -> float:
        return self.trial_ends[0] - self.ray_line

    @property
    def warm_trial(self) -> float:
        """Mean time per trial after the first (the worker process is reused)."""
        ends = self.trial_ends
        return (ends[-1] - ends[0]) / (len(ends) - 1)

    @property
    def closing(self) -> float:
        return self.end - self.trial_ends[-1]


def time_ablation(extra: list[str], seeds: int, concurrent: int) -> Timeline:
    """The console's timeline of an ablation of one setting run in a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        cmd = [sys.executable, "-u", "-m", "orchestrator", "ablation", "lwas", "--settings", "lwas",
               "--seeds", ",".join(map(str, range(seeds))), "--max-concurrent", str(concurrent), *sets(extra)]
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ray_line, ray_seconds, ends = None, 0.0, []
        for line in process.stdout:
            now = time.perf_counter() - start
            if ray_line is None and line.startswith("Ray dashboard:"):
                ray_line = now
                found = re.search(r"Ray up in ([0-9.]+) s", line)
                ray_seconds = float(found.group(1)) if found else 0.0
            elif re.match(r"\[\d+/\d+\] .* done in ", line):
                ends.append(now)
        if process.wait() != 0:
            raise RuntimeError(f"ablation failed: {' '.join(cmd)}")
        return Timeline(ray_line, ray_seconds, ends, time.perf_counter() - start)


def main_job_trials() -> int:
    """Trials of the README's main job: ``ablation lwas`` (denoising) at the ablation's default seeds."""
    from orchestrator.commands import DEFAULT_SEEDS, parse_int_list
    from orchestrator.experiments import find_ablation

    seeds = parse_int_list(DEFAULT_SEEDS, "--seeds")
    return len(find_ablation("lwas").ablations["lwas"]("denoise").settings) * len(seeds)


def print_main_job_floor(run: Timeline, direct: float, smoke: float) -> None:
    """A lower bound: trials side by side each take a little longer than one alone, and the last round may
    leave cores idle."""
    fixed = run.before_ray + run.ray_seconds + (run.first_trial - direct) + run.closing
    trials, cores = main_job_trials(), os.cpu_count() or 1
    floor = fixed + trials * smoke / cores
    allowed = (MAIN_JOB_S - fixed) * cores / trials
    print(f"README's main job, {trials} smoke trials on {cores} cores: at least {floor:.0f} s "
          f"(once per command {fixed:.0f} s + {trials} x {smoke:.1f} s / {cores}); {MAIN_JOB_S:.0f} s would allow "
          f"a smoke trial of {allowed:.1f} s (x{allowed / smoke:.2f} of today's)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--skip-smoke", action="store_true", help="only the trivial trials (about 1 minute)")
    args = parser.parse_args()
    direct = time_direct(3)
    run = time_ablation(TRIVIAL, args.trials, concurrent=1)
    overhead = run.warm_trial - direct
    rows = [("trivial trial called directly", direct, ""),
            ("before Ray (imports, checks, MLflow store)", run.before_ray, "once per command"),
            ("Ray start-up (ray.init with the dashboard)", run.ray_seconds, "once per command"),
            ("first trial (worker start, its imports)", run.first_trial, f"x{run.first_trial / direct:.2f} direct"),
            ("each further trial (worker reused)", run.warm_trial, f"x{run.warm_trial / direct:.2f} direct"),
            ("  overhead per trial", overhead, ""),
            ("closing (references, table, report, Ray exit)", run.closing, "once per command")]
    for label, seconds, note in rows:
        print(f"{label:48s} {seconds:6.2f} s   {note}")
    if args.skip_smoke:
        return
    smoke = time_direct(1, overrides=[])
    print(f"smoke trial called directly:              {smoke:6.2f} s   overhead per trial = "
          f"{100 * overhead / smoke:.1f}% of it")
    serial = time_ablation([], 2, concurrent=1)
    parallel = time_ablation([], 2, concurrent=2)
    print(f"2 smoke trials, 1 CPU each: one after the other {serial.trial_ends[-1] - serial.ray_line:.1f} s, "
          f"concurrently {parallel.trial_ends[-1] - parallel.ray_line:.1f} s, speed-up "
          f"x{(serial.trial_ends[-1] - serial.ray_line) / (parallel.trial_ends[-1] - parallel.ray_line):.2f}")
    print_main_job_floor(run, direct, smoke)


if __name__ == "__main__":
    main()
