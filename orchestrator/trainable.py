"""The Ray Tune trainable: a thin function around ``trials.pipeline.run_trial``.

The run folder is the Tune checkpoint: after every search epoch and retrain checkpoint it is reported with
``tune.report(..., checkpoint=...)``; a retried trial (FailureConfig) or a restored ablation copies the
last reported checkpoint back and the pipeline resumes from it.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from ray import tune

from orchestrator.ablations import Setting
from orchestrator.tracking import Tracking, TrialRun
from trials import metric_names as M
from trials.config import TrialConfig, flatten, from_dict, with_overrides
from trials.pipeline import TrialHooks, run_trial

ARTIFACTS = ("genotype.json", "config.json", "search.json", "metrics.json")


def trial_config(base: dict, setting: Setting, seed: int, extra: dict | None = None) -> TrialConfig:
    cfg = from_dict(TrialConfig, base)
    return with_overrides(cfg, {**setting.overrides, **(extra or {}), "seed": seed})


class TuneHooks(TrialHooks):
    """Reports each checkpointed step to Tune (metrics + the run folder) and logs it to MLflow."""

    def __init__(self, run: TrialRun, static: dict):
        # best_val_score is in every report: Optuna (lambda ablation) maximises it.
        self.run, self.static, self.last = run, static, {"best_val_score": 0.0}
        history = run.client.get_metric_history(run.run_id, M.TRAIN_LOSS)
        self.logged_epochs = max((m.step for m in history), default=0)

    def _report(self, metrics: dict, run_dir: Path) -> None:
        self.last.update(metrics)
        tune.report({**self.static, **self.last}, checkpoint=tune.Checkpoint.from_directory(str(run_dir)))

    def search_epoch(self, metrics: dict, run_dir: Path) -> None:
        epoch = metrics["epoch"]
        if epoch > self.logged_epochs:  # a resumed trial repeats no logged epoch
            self.run.log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step=epoch)
        if M.VAL_SCORE in metrics:
            self.last["best_val_score"] = max(self.last["best_val_score"], metrics[M.VAL_SCORE])
        self._report({"phase": "search", **metrics}, run_dir)

    def checkpointed(self, run_dir: Path, phase: str) -> None:
        self._report({"phase": phase}, run_dir)

    def searched(self, genotype, summary: dict, run_dir: Path) -> None:
        self.run.log_artifacts([run_dir / "genotype.json", run_dir / "search.json"])
        self.run.log_artifacts(draw_pictures(genotype, run_dir))
        score = summary.get("selected_val_score", summary.get("best_score")) or 0.0
        self.last["best_val_score"] = score
        self.run.log_metrics({"best_val_score": score})

    def finished(self, metrics: dict, run_dir: Path) -> None:
        self.run.log_metrics(metrics)
        self.run.log_artifacts([run_dir / name for name in ARTIFACTS])
        self._report({"phase": "done", **metrics}, run_dir)


def draw_pictures(genotype, run_dir: Path) -> list[Path]:
    from analysis import plots

    out = [plots.plot_genotype(genotype, run_dir / "cells.png", title="derived cells and width path")]
    for name, plot in (("alpha", plots.plot_alpha), ("beta", plots.plot_beta)):
        path = run_dir / f"{name}.npy"
        if path.exists():  # probabilities are saved; the plots softmax what they get, so pass logs
            with np.errstate(divide="ignore"):
                out.append(plot(np.log(np.load(path)), run_dir / f"{name}.png", title=f"{name} (best epoch)"))
    return out


def hinas_trial(params: dict, base: dict, settings: dict[str, Setting], tracking: Tracking, ablation: str,
                threads: int) -> None:
    """One trial: ``params`` holds the grid point (setting, seed; lam when Optuna chooses it)."""
    torch.set_num_threads(threads)
    setting, seed = settings[params["setting"]], int(params["seed"])
    extra, name = {}, setting.name
    if "lam" in params:  # chosen by a searcher
        extra["search.lam"] = float(params["lam"])
        name = f"lam{float(params['lam']):.4g}"
    cfg = trial_config(base, setting, seed, extra)
    ctx = tune.get_context()
    key = f"{ablation}/{name}/seed{seed}" + (f"/{ctx.get_trial_id()}" if "lam" in params else "")
    tags = {M.TAG_ABLATION: ablation, M.TAG_SETTING: name, M.TAG_SEED: str(seed), M.TAG_METHOD: cfg.search.method,
            M.TAG_TASK: cfg.space.task, M.TAG_TRIAL_ID: ctx.get_trial_id(), M.TAG_NODE_ID: _node_id()}
    run = TrialRun(tracking, key, f"{name}-seed{seed}", tags)
    run.set_tags({M.TAG_TRIAL_ID: ctx.get_trial_id(), M.TAG_NODE_ID: _node_id()})  # a retry may move nodes
    run.log_params(flatten(cfg))
    run_dir = Path(ctx.get_trial_dir()) / "run"
    restore_checkpoint(run_dir)
    (run_dir / "config.json").parent.mkdir(parents=True, exist_ok=True)
    hooks = TuneHooks(run, {"setting": name, "seed": seed, "mlflow_run_id": run.run_id, "node_id": _node_id()})
    try:
        run_trial(cfg, run_dir, hooks)
    except BaseException:
        run.finish(failed=True)
        raise
    run.finish()


def restore_checkpoint(run_dir: Path) -> None:
    """Puts the last checkpoint Tune holds for this trial (if any) into the run folder."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return
    with checkpoint.as_directory() as folder:
        if Path(folder).resolve() == run_dir.resolve():
            return
        staging = Path(tempfile.mkdtemp(dir=run_dir.parent if run_dir.parent.exists() else None))
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        staging.rename(run_dir)


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()
