"""The Ray Tune trainable: a thin function around ``trials.pipeline.run_trial``.

The run folder is the Tune checkpoint: after every search epoch and retrain checkpoint it is reported with
``tune.report(..., checkpoint=...)``; a retried trial (FailureConfig) or a restored ablation copies the
last reported checkpoint back and the pipeline resumes from it.
"""

import contextlib
import errno
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch
from ray import tune

from analysis.pictures import PICTURES
from orchestrator import recovery
from orchestrator.experiments import TUNED_PARAM, Setting, Tuned
from orchestrator.invocation import DESCRIPTION_TAG
from orchestrator.presets import trial_config
from orchestrator.tracking import TAG_VALUE_CHARS, Tracking, TrialRun
from trials import metric_names as M
from trials.checkpoint import CheckpointError, scratch_folder
from trials.config import baseline_tags, flatten, inferred_tags
from trials.data import DataError
from trials.device import environment_tags
from trials.losses import NonFiniteLossError
from trials.pipeline import ARCH_WEIGHTS, TrialHooks, run_trial
from trials.retrain import conditions as retrain_conditions
from trials.retrain import protocol_summary

ARTIFACTS = ("genotype.json", "config.json", "search.json", "metrics.json", ARCH_WEIGHTS)
# Errors that a retry from the last checkpoint would meet again at the same point: the trial ends once, as
# failed (reported with phase M.PHASE_FAILED and the error), instead of Ray retrying it as if its worker died.
DETERMINISTIC_ERRORS = (DataError, NonFiniteLossError, CheckpointError)
DISK_FULL_WAIT_S = 600.0  # for the driver's stop (recovery.DiskFullStop) before the error goes to Ray


class PhaseClock:
    """Seconds a phase has left at its pace so far in this process (a resumed trial starts a new pace)."""

    def __init__(self):
        self.phase, self.start, self.first_done = None, 0.0, 0

    def eta_s(self, phase: str, done: int, total: int) -> float:
        if phase != self.phase:
            self.phase, self.start, self.first_done = phase, time.monotonic(), done
            return float("nan")
        pace = (time.monotonic() - self.start) / max(done - self.first_done, 1)
        return pace * (total - done)


class TuneHooks(TrialHooks):
    """Reports each checkpointed step to Tune (metrics + the run folder) and logs it to MLflow; between
    checkpoints, the retraining's progress (condition, iteration of total, loss, eta) without a checkpoint."""

    def __init__(self, run: TrialRun, static: dict, width: int, cfg):
        # The selection score is in every report: a searcher (--search optuna) maximises it.
        self.run, self.static, self.last, self.width = run, static, {M.SELECTION_SCORE: 0.0}, width
        self.deterministic = cfg.deterministic
        history = run.client.get_metric_history(run.run_id, M.TRAIN_LOSS)
        self.logged_epochs = max((m.step for m in history), default=0)
        task = cfg.components.task
        self.condition_keys = [task.condition_key(c) for c in retrain_conditions(cfg)]  # in retraining order
        self.epochs, self.conditions = cfg.search.epochs, len(self.condition_keys)
        self.clock = PhaseClock()
        self.clock.eta_s(M.PHASE_SEARCH, 0, self.epochs)

    def _report(self, metrics: dict, run_dir: Path | None) -> None:
        self.last.update(metrics)
        checkpoint = None if run_dir is None else tune.Checkpoint.from_directory(str(run_dir))
        tune.report({**self.static, **self.last}, checkpoint=checkpoint)

    def prepared(self, datasets: list[dict[str, str]], device) -> None:
        self.run.log_inputs(datasets)
        self.run.log_params({"device_resolved": str(device), "torch_threads": str(torch.get_num_threads())})
        self.run.set_tags(environment_tags(device, self.deterministic) | {M.TAG_DATA: data_digests(datasets)})

    def search_epoch(self, metrics: dict, run_dir: Path) -> None:
        epoch = metrics["epoch"]
        if epoch > self.logged_epochs:  # a resumed trial repeats no logged epoch
            self.run.log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step=epoch)
        if M.VAL_SCORE in metrics:
            self.last[M.SELECTION_SCORE] = max(self.last[M.SELECTION_SCORE], metrics[M.VAL_SCORE])
        progress = {M.PROGRESS_CONDITION: "", M.PROGRESS_DONE: epoch, M.PROGRESS_TOTAL: self.epochs,
                    M.PROGRESS_ETA_S: self.clock.eta_s(M.PHASE_SEARCH, epoch, self.epochs)}
        self._report({"phase": M.PHASE_SEARCH, **metrics, **progress}, run_dir)

    def retrain_progress(self, condition: str, iteration: int, total: int, loss: float) -> None:
        """MLflow gets one loss curve per condition (retrain_loss_sigma30, step = iteration); the eta counts
        the conditions still to retrain at this pace."""
        self.run.log_metrics({M.per_condition(M.RETRAIN_LOSS, condition): loss}, step=iteration)
        done = self.condition_keys.index(condition) * total + iteration
        self._report({"phase": M.PHASE_RETRAIN, M.PROGRESS_CONDITION: condition,
                      M.PROGRESS_DONE: iteration, M.PROGRESS_TOTAL: total, M.RETRAIN_LOSS: loss,
                      M.PROGRESS_ETA_S: self.clock.eta_s(M.PHASE_RETRAIN, done, total * self.conditions)}, None)

    def checkpointed(self, run_dir: Path, phase: str) -> None:
        self._report({"phase": phase}, run_dir)

    def searched(self, genotype, summary: dict, run_dir: Path) -> None:
        self.run.log_artifacts([run_dir / "genotype.json", run_dir / "search.json"])
        self.run.log_artifacts(draw_pictures(genotype, run_dir, self.width))
        self.run.set_tags({M.TAG_GENOTYPE: genotype_tag(genotype)})
        score = summary["selection_score"] or 0.0
        self.last[M.SELECTION_SCORE] = score
        self.run.log_metrics({M.SELECTION_SCORE: score})

    def keyed(self, kind: str, key: str) -> None:
        self.run.set_tags({M.TAG_CACHE_KEY.format(kind=kind): key})

    def reusable(self, kind: str, key: str, into: Path) -> bool:
        if not self.run.tracking.reuse_results:
            return False
        twin = self.run.finished_twin(M.TAG_CACHE_KEY.format(kind=kind), key)
        if twin is None:
            return False
        self.run.download_files(twin, ARTIFACTS, into)
        self.twin = twin
        return True

    def adopted(self, kind: str) -> None:
        self.run.set_tags({M.TAG_REUSED: kind, M.TAG_REUSED_FROM: self.twin})
        print(f"reused the {kind} results of finished run {self.twin} (same {kind} cache key; --no-cache "
              f"recomputes)", flush=True)

    def finished(self, metrics: dict, run_dir: Path) -> None:
        self.run.log_metrics(metrics)
        self.run.set_tags({DESCRIPTION_TAG: results_note(metrics)})  # the run's page shows it above every metric
        self.run.log_params({"param_count": round(metrics[M.PARAMS_M] * 1e6)})  # params_m is the count / 1e6
        self.run.log_artifacts([run_dir / name for name in ARTIFACTS])
        self.run.log_networks(sorted(run_dir.glob("network_*.pt")))
        self._report({"phase": M.PHASE_DONE, **metrics}, run_dir)


def results_note(metrics: dict) -> str:
    """The test results as the run's description (markdown): the UI lists system and search metrics first."""
    conditions = [name.removeprefix(M.psnr("")) for name in sorted(metrics) if name.startswith(M.psnr(""))]
    value = lambda name: metrics.get(name, float("nan"))  # noqa: E731
    size = (f"Params {value(M.PARAMS_M):.4f} M, Mult-Adds {value(M.MULT_ADDS_G):.2f} G, latency "
            f"{value(M.LATENCY_MS):.1f} ms, search {value(M.SEARCH_TIME_S):.0f} s")
    rows = [f"| {c} | {value(M.psnr(c)):.2f} | {value(M.ssim(c)):.4f} |" for c in conditions]
    return "\n".join(["**Test results**", "", "| condition | PSNR (dB) | SSIM |", "|---|---|---|", *rows, "", size])


def genotype_tag(genotype) -> str:
    """The genotype as compact JSON, the form `cache export` lists; its digest where it is too long for a tag."""
    text = json.dumps(genotype.to_json(), sort_keys=True, separators=(",", ":"))
    return text if len(text) <= TAG_VALUE_CHARS else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def data_digests(datasets: list[dict[str, str]]) -> str:
    """One line naming every data set a trial read and the digest of its pixels (the checklist's data item)."""
    return "; ".join(f"{d['context']} {d['name']} ({d['images']} images) sha256:{d['digest'][:16]}" for d in datasets)


def draw_pictures(genotype, run_dir: Path, width: int) -> list[Path]:
    """The space's picture of the derived architecture, and of the architecture weights the method saved."""
    pictures = PICTURES.get(genotype.space)
    out = [pictures.architecture(genotype, run_dir / "architecture.png", "derived architecture", width)]
    weights_file = run_dir / ARCH_WEIGHTS
    if weights_file.exists():
        with np.load(weights_file) as weights:
            out += pictures.arch_weights(dict(weights), run_dir, "the final genotype's architecture weights")
    return out


def restoration_trial(params: dict, base: dict, settings: dict[str, Setting], tracking: Tracking, ablation: str,
                      threads: int, tuned: Tuned | None = None, recovered: dict[str, str] | None = None) -> None:
    """One trial: ``params`` holds the grid point (setting, seed; the tuned key's value when a searcher chose
    it). ``recovered``: {trial key: run folder} to continue from where Tune holds no checkpoint (a resumed
    ablation whose Tune state a full disk cut short: orchestrator/recovery.py)."""
    torch.set_num_threads(threads)
    sys.unraisablehook = quiet_shutdown_hook
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)  # a line per checkpoint
    setting, seed = settings[params["setting"]], int(params["seed"])
    extra, name = {}, setting.name
    if TUNED_PARAM in params:  # chosen by a searcher
        value = float(params[TUNED_PARAM])
        extra[tuned.key], name = value, tuned.setting_name(value)
    cfg = trial_config(base, setting, seed, extra)
    ctx = tune.get_context()
    key = f"{ablation}/{name}/seed{seed}" + (f"/{ctx.get_trial_id()}" if TUNED_PARAM in params else "")
    tags = {M.TAG_ABLATION: ablation, M.TAG_SETTING: name, M.TAG_SEED: str(seed), M.TAG_METHOD: cfg.method.name,
            M.TAG_TASK: cfg.task.name, M.TAG_SPACE: cfg.space.name, M.TAG_TRIAL_ID: ctx.get_trial_id(),
            M.TAG_NODE_ID: _node_id(), M.TAG_PROTOCOL: protocol_summary(cfg)} | inferred_tags(cfg) | baseline_tags(cfg)
    run = TrialRun(tracking, key, f"{name}-seed{seed}", tags)
    run.set_tags({M.TAG_TRIAL_ID: ctx.get_trial_id(), M.TAG_NODE_ID: _node_id()})  # a retry may move nodes
    run.log_params(flatten(cfg) | {M.TAG_SETTING: name})  # a param too: MLflow's charts cannot use tags
    run_dir = Path(ctx.get_trial_dir()) / "run"
    hooks = TuneHooks(run, {"setting": name, "seed": seed, "mlflow_run_id": run.run_id, "node_id": _node_id()},
                      cfg.retrain.base_width, cfg)
    fallback = (recovered or {}).get(recovery.trial_key(name, seed))
    run_guarded(run, hooks, lambda: traced_trial(cfg, run, run_dir, hooks, fallback), run_dir)


def traced_trial(cfg, run: TrialRun, run_dir: Path, hooks: TuneHooks, fallback: str | None) -> None:
    restore_checkpoint(run_dir, fallback)
    (run_dir / "config.json").parent.mkdir(parents=True, exist_ok=True)
    with run.system_metrics():
        run_trial(cfg, run_dir, hooks)


def run_guarded(run: TrialRun, hooks: TuneHooks, trial, run_dir: Path) -> None:
    """Runs ``trial``; an error a retry would meet again ends it once, and a full disk stops the ablation."""
    try:
        trial()
    except DETERMINISTIC_ERRORS as err:  # the same data and seed fail the same way: a retry would only repeat it
        run.finish("FAILED")
        tune.report({**hooks.static, **hooks.last, "phase": M.PHASE_FAILED, "error": f"{type(err).__name__}: {err}"})
        return
    except BaseException as err:
        if not recovery.is_disk_full(err, (run_dir, scratch_folder(run_dir))):
            run.finish("FAILED")
            raise
        wait_for_the_stop(run, hooks, run_dir.parent)
    run.finish()


def wait_for_the_stop(run: TrialRun, hooks: TuneHooks, folder: Path) -> None:
    """A full disk: the driver stops every trial (orchestrator/recovery.py); this one keeps its last whole
    checkpoint for --resume. Should no stop come, the error goes to Ray like any other."""
    with contextlib.suppress(Exception):  # the store may be on the full disk too
        run.finish("KILLED")
    tune.report({**hooks.static, **hooks.last, "phase": recovery.PHASE_DISK_FULL})
    time.sleep(DISK_FULL_WAIT_S)
    raise OSError(errno.ENOSPC, f"no space left on device under {folder}")


def quiet_shutdown_hook(unraisable) -> None:
    """Ray's SIGTERM handler raises SystemExit wherever the worker is; when that is a weakref callback (the
    system-metrics thread's), Python prints it as an ignored exception, a traceback in a successful run's
    console. Stopping a worker is not an error; every other unraisable exception is printed as before."""
    if not isinstance(unraisable.exc_value, SystemExit):
        sys.__unraisablehook__(unraisable)


def restore_checkpoint(run_dir: Path, fallback: str | None = None) -> None:
    """Puts the last checkpoint Tune holds for this trial (else the ``fallback`` run folder) into the run
    folder."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        if fallback is not None and Path(fallback).resolve() != run_dir.resolve():
            replace_folder(Path(fallback), run_dir)
        return
    with checkpoint.as_directory() as folder:
        if Path(folder).resolve() != run_dir.resolve():
            replace_folder(Path(folder), run_dir)


def replace_folder(source: Path, run_dir: Path) -> None:
    """``run_dir`` becomes a copy of ``source``, whole or not at all."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=scratch_folder(run_dir.parent)))  # not in the synced trial folder
    shutil.copytree(source, staging, dirs_exist_ok=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    staging.rename(run_dir)


def _node_id() -> str:
    return ray.get_runtime_context().get_node_id()
