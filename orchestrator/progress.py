"""What an ablation prints while it runs: one status line a minute and one line per finished trial.

Tune's own table repeats 25 lines every report; a user following a 15-trial ablation wants to know which
trial is where (phase, condition, iteration of total, loss, time left) and how long the whole ablation has
left. Both come from the metrics every trial reports (orchestrator/trainable.py), so the same numbers are in
Tune's results and in MLflow.
"""

import sys
import time

from ray.tune import Callback, ProgressReporter

from trials import metric_names as M

TERMINAL = ("TERMINATED", "ERROR")


def duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:  # None or NaN: not known yet
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def trial_name(trial) -> str:
    result, config = trial.last_result or {}, trial.config or {}
    return f"{result.get('setting', config.get('setting', '?'))}/seed{result.get('seed', config.get('seed', '?'))}"


def where(result: dict) -> str:
    """'retrain sigma50 120/200 loss 0.0912 eta 12s' from a trial's last report."""
    phase = result.get("phase", "starting")
    parts = [phase]
    if result.get(M.PROGRESS_CONDITION):
        parts.append(str(result[M.PROGRESS_CONDITION]))
    if result.get(M.PROGRESS_TOTAL):
        parts.append(f"{result.get(M.PROGRESS_DONE, 0)}/{result[M.PROGRESS_TOTAL]}")
    loss = result.get(M.RETRAIN_LOSS if phase == "retrain" else M.TRAIN_LOSS)
    if isinstance(loss, int | float):
        parts.append(f"loss {loss:.4g}")
    if M.PROGRESS_ETA_S in result:
        parts.append(f"eta {duration(result[M.PROGRESS_ETA_S])}")
    return " ".join(parts)


class Ablation:
    """Counts of the ablation's trials and its time left: elapsed x pending / finished (trials run at a
    steady concurrency, so the finished ones' pace holds for the rest)."""

    def __init__(self, total: int):
        self.total, self.start, self.finished = total, time.monotonic(), 0

    def eta_s(self) -> float | None:
        if not self.finished:
            return None
        return (time.monotonic() - self.start) * (self.total - self.finished) / self.finished


class StatusLine(ProgressReporter):
    """Tune's progress reporter: one line every ``interval_s`` with each running trial's position."""

    def __init__(self, ablation: Ablation, interval_s: float = 60.0, out=None):
        self.ablation, self.interval_s, self.out = ablation, interval_s, out or sys.stdout
        self.last = time.monotonic()

    def should_report(self, trials, done: bool = False) -> bool:
        return not done and time.monotonic() - self.last >= self.interval_s

    def report(self, trials, done: bool, *sys_info) -> None:
        self.last = time.monotonic()
        running = [t for t in trials if t.status == "RUNNING"]
        finished = sum(t.status in TERMINAL for t in trials)
        states = "; ".join(f"{trial_name(t)} {where(t.last_result or {})}" for t in running)
        print(f"[{time.strftime('%H:%M:%S')}] {finished}/{self.ablation.total} trials done, ablation eta "
              f"{duration(self.ablation.eta_s())} | {states or 'waiting for resources'}", file=self.out, flush=True)


class TrialLines(Callback):
    """One line per trial that ends: its headline metrics (PSNR per condition), or its error."""

    def __init__(self, ablation: Ablation, headline: tuple[str, ...], out=None):
        self.ablation, self.headline, self.out = ablation, headline, out or sys.stdout

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        result = trial.last_result or {}
        self.ablation.finished += 1
        if result.get("phase") == M.PHASE_FAILED:
            self._line(trial, f"failed: {result.get('error', '')}")
            return
        scores = "  ".join(f"{c.removeprefix('psnr_')} {result[c]:.2f} dB" for c in self.headline if c in result)
        self._line(trial, f"done in {duration(result.get('time_total_s'))}: {scores or 'no test metrics'}")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.ablation.finished += 1
        self._line(trial, "crashed after its retries (its error file is in the trial folder)")

    def _line(self, trial, text: str) -> None:
        print(f"[{self.ablation.finished}/{self.ablation.total}] {trial_name(trial)} {text}; ablation eta "
              f"{duration(self.ablation.eta_s())}", file=self.out, flush=True)
