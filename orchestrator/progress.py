"""What an ablation prints while it runs: one status line a minute and one line per finished trial.

Tune's own table repeats 25 lines every report; a user following a 15-trial ablation wants to know which
trial is where (phase, condition, iteration of total, loss, time left) and how long the whole ablation has
left. Both come from the metrics every trial reports (orchestrator/trainable.py), so the same numbers are in
Tune's results and in MLflow.
"""

import statistics
import sys
import time
from collections.abc import Iterable

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
    loss = result.get(M.RETRAIN_LOSS if phase == M.PHASE_RETRAIN else M.TRAIN_LOSS)
    if isinstance(loss, int | float):
        parts.append(f"loss {loss:.4g}")
    if M.PROGRESS_ETA_S in result:
        parts.append(f"eta {duration(result[M.PROGRESS_ETA_S])}")
    return " ".join(parts)


class AblationProgress:
    """Counts of the ablation's trials and its time left: elapsed x work left / work done, at the pace so far.

    Work done counts the running trials too, each as the part of a typical finished trial's duration it has
    run: counting finished trials alone, the estimate halves when the second of two concurrent trials ends a
    moment after the first, and climbs back in between (17m -> 10m -> 13m -> 11m)."""

    def __init__(self, total: int, clock=time.monotonic):
        self.total, self.clock, self.start, self.finished = total, clock, clock(), 0
        self.durations: list[float] = []  # seconds each finished trial ran

    def trial_finished(self, seconds: float | None) -> None:
        self.finished += 1
        if seconds:
            self.durations.append(float(seconds))

    def eta_s(self, running_s: Iterable[float] = ()) -> float | None:
        """``running_s``: how long each running trial has run."""
        if not self.finished:
            return None
        typical = statistics.median(self.durations) if self.durations else None
        partial = sum(min(s / typical, 0.95) for s in running_s) if typical else 0.0
        done = self.finished + partial
        return (self.clock() - self.start) * max(self.total - done, 0.0) / done


def running_s(trials) -> list[float]:
    """Seconds each running trial has run, as of its last report."""
    return [float((t.last_result or {}).get("time_total_s", 0.0)) for t in trials if t.status == "RUNNING"]


class StatusLine(ProgressReporter):
    """Tune's progress reporter: one line every ``interval_s`` with each running trial's position."""

    def __init__(self, ablation: AblationProgress, interval_s: float = 60.0, out=None):
        self.ablation, self.interval_s, self.out = ablation, interval_s, out or sys.stdout
        self.last = time.monotonic()

    def should_report(self, trials, done: bool = False) -> bool:
        return not done and time.monotonic() - self.last >= self.interval_s

    def report(self, trials, done: bool, *sys_info) -> None:
        self.last = time.monotonic()
        running = [t for t in trials if t.status == "RUNNING"]
        finished = sum(t.status in TERMINAL for t in trials)
        states = "; ".join(f"{trial_name(t)} {where(t.last_result or {})}" for t in running)
        eta = duration(self.ablation.eta_s(running_s(trials)))
        print(f"[{time.strftime('%H:%M:%S')}] {finished}/{self.ablation.total} trials done, ablation eta {eta} | "
              f"{states or 'waiting for resources'}", file=self.out, flush=True)


class TrialLines(Callback):
    """One line per trial that ends: its headline metrics (PSNR per condition), or its error."""

    def __init__(self, ablation: AblationProgress, headline: tuple[str, ...], out=None):
        self.ablation, self.headline, self.out = ablation, headline, out or sys.stdout

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        result = trial.last_result or {}
        self.ablation.trial_finished(result.get("time_total_s"))
        if result.get("phase") == M.PHASE_FAILED:
            self._line(trial, trials, f"failed: {result.get('error', '')}")
            return
        scores = "  ".join(f"{c.removeprefix('psnr_')} {result[c]:.2f} dB" for c in self.headline if c in result)
        self._line(trial, trials, f"done in {duration(result.get('time_total_s'))}: {scores or 'no test metrics'}")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.ablation.trial_finished(None)
        self._line(trial, trials, "crashed after its retries (its error file is in the trial folder)")

    def _line(self, trial, trials, text: str) -> None:
        others = running_s(t for t in trials if t is not trial)
        print(f"[{self.ablation.finished}/{self.ablation.total}] {trial_name(trial)} {text}; ablation eta "
              f"{duration(self.ablation.eta_s(others))}", file=self.out, flush=True)
