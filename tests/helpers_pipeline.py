"""Pieces shared by the pipeline tests: tiny configs, comparable metrics, the CLI in a subprocess, and
watching a run folder's checkpoint from outside (to kill a trial at a known point).

Every trial here runs torch with ONE intra-op thread, in this process and in subprocesses alike: results
are then bitwise comparable across processes, and the tests leave the second shared core to others.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from orchestrator.presets import preset_config
from trials import checkpoint
from trials import metric_names as M
from trials.config import TrialConfig
from trials.pipeline import TrialHooks

REPO = Path(__file__).resolve().parents[1]
THREADS = 1

# On top of the smoke preset: 3 short search epochs (1 warm-up, validation from epoch 2), one noise level,
# one test image, and a retraining long enough (24 iterations, a checkpoint every 3) to be killed inside.
# (The smoke preset's HiNAS warm-up is 1 epoch already.)
PIPELINE = {
    "search.epochs": 3, "search.eval_from_epoch": 2, "search.steps_per_epoch": 2,
    "task.search_sigmas": "30", "task.sigmas": "30", "retrain.iterations": 24, "retrain.checkpoint_every": 3,
    "data.max_test_images": 1,
}
# Wall-clock and memory figures differ between two identical runs; everything else must not.
TIMING_KEYS = {M.SEARCH_TIME_S, M.RETRAIN_TIME_S, M.INFERENCE_MS, M.PEAK_MEMORY_MB, M.PEAK_RSS_MB, M.PEAK_CUDA_MB,
               M.SEARCH_GPU_HOURS, M.SEARCH_DEVICE_HOURS, M.RETRAIN_DEVICE_HOURS}
SUMMARY_TIMING_KEYS = {"search_time_s", "search_gpu_hours", "peak_memory_mb", M.PEAK_RSS_MB, M.PEAK_CUDA_MB}


@contextlib.contextmanager
def torch_threads(count: int = THREADS):
    """torch's intra-op threads set to ``count`` inside the block (results then compare bitwise with the CLI
    subprocesses, which run with THREADS), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pipeline_config(**overrides) -> TrialConfig:
    """The smoke preset shrunk to PIPELINE, plus dotted overrides given as keyword arguments (dots as __)."""
    extra = {key.replace("__", "."): value for key, value in overrides.items()}
    return preset_config("smoke", overrides={**PIPELINE, **extra})


def cli_overrides(cfg_overrides: dict) -> list[str]:
    """``--set key=value`` arguments for the CLI that build the same config as ``pipeline_config``."""
    args = []
    for key, value in {**PIPELINE, **cfg_overrides}.items():
        args += ["--set", f"{key}={value}"]
    return args


def comparable(values: dict, timing: set[str] = TIMING_KEYS) -> dict:
    """Without the wall-clock measurements (latency per condition included), which no seed fixes."""
    return {k: v for k, v in values.items() if k not in timing and not k.startswith((M.LATENCY_MS, M.ONNX_LATENCY_MS))}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def child_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=timeout)


def start_cli(log: Path, *args: str) -> subprocess.Popen:
    """The CLI in the background; output goes to a file (a pipe nobody reads could block the child)."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "orchestrator", *args], cwd=REPO, env=child_env(),
                                stdout=out, stderr=subprocess.STDOUT)


def read_checkpoint(run_dir: Path) -> dict | None:
    """The run's checkpoint as a fresh process would see it, or None if there is none yet.

    The pipeline replaces the file atomically, so a read sees the old or the new checkpoint, never a torn one.
    Loading goes through torch.load directly (not checkpoint.load) so that this process's RNG is untouched.
    """
    path = run_dir / checkpoint.CHECKPOINT_NAME
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None


def position(state: dict | None) -> tuple:
    """Where a checkpoint says the trial is, as a tuple that only grows while a trial makes progress:
    (0, finished search epochs) during the search, (1, condition index, iteration) in retraining, (2,) done."""
    if state is None:
        return (0, 0)
    if state["phase"] == "search":
        return (0, state["search"]["progress"]["epoch"])
    if state["phase"] == "retrain":
        return (1, state["retrain"]["index"], state["retrain"]["iteration"])
    return (2,)


def watch(proc: subprocess.Popen, run_dir: Path, until: Callable[[dict | None], bool], timeout: float = 240,
          poll_s: float = 0.05) -> list[tuple]:
    """Polls the checkpoint until ``until(state)`` holds (or the process ends); returns every position seen."""
    seen: list[tuple] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_checkpoint(run_dir)
        if not seen or seen[-1] != position(state):
            seen.append(position(state))
        if until(state) or proc.poll() is not None:
            return seen
        time.sleep(poll_s)
    proc.kill()
    raise TimeoutError(f"{run_dir}: the trial did not reach the awaited point in {timeout} s (saw {seen})")


def sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"expected death by SIGKILL, got return code {proc.returncode}"


class Interrupt(Exception):
    pass


class StopAt(TrialHooks):
    """Raises after the n-th search epoch or retraining checkpoint: the trial dies there, its files stay."""

    def __init__(self, phase: str, count: int):
        self.phase, self.count, self.seen = phase, count, 0

    def search_epoch(self, metrics, run_dir):
        self._tick("search")

    def checkpointed(self, run_dir, phase):
        self._tick("retrain")

    def _tick(self, phase):
        if phase == self.phase:
            self.seen += 1
            if self.seen == self.count:
                raise Interrupt


