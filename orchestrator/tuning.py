"""Ray Tune wiring: start (or join) Ray, build the Tuner for an ablation grid, run it or restore it."""

import logging
import os
import sys
import time
from dataclasses import dataclass

from orchestrator import watchdog
from orchestrator.experiments import TUNED_PARAM, Ablation, Setting
from orchestrator.tracking import Tracking
from trials import metric_names as M


@dataclass(frozen=True)
class Plan:
    """Everything an ablation run needs, checked before Ray starts."""

    ablation: Ablation
    task: str
    seeds: tuple[int, ...]
    base: dict  # {"preset", "task", "overrides"}: what every trial's config is built from (presets.trial_config)
    storage_uri: str  # Ray results root: a local folder or a cloud URI
    experiment: str
    cpus_per_trial: float
    gpus_per_trial: float
    max_concurrent: int | None
    max_failures: int
    optuna_samples: int = 0  # > 0: Optuna chooses the ablation's tuned key (Ablation.tuned) for this many trials
    progress_columns: tuple[str, ...] = ()  # test metrics shown in Tune's table
    reference_networks: tuple[tuple[str, str], ...] = ()  # (name, saved network file): extra reference rows
    @property
    def experiment_path(self) -> str:
        return f"{self.storage_uri.rstrip('/')}/{self.experiment}"

    def grid(self) -> list[dict]:
        if self.optuna_samples:
            tuned = self.ablation.tuned
            chosen = f"chosen by Optuna in [{tuned.low:g}, {tuned.high:g}]"
            return [{"setting": "optuna", "seed": self.seeds[0], TUNED_PARAM: chosen}] * self.optuna_samples
        return [{"setting": s.name, "seed": seed} for s in self.ablation.settings for seed in self.seeds]


def start_ray(address: str | None, dashboard_host: str = "127.0.0.1", num_cpus: int | None = None) -> str:
    """Joins the cluster at ``address`` or starts a local Ray with its dashboard on loopback; returns the
    dashboard URL (empty when there is none)."""
    import ray  # deferred: Ray loads only when an ablation runs

    if not sys.stdout.isatty():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # no ANSI codes in a log file
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the reporter below, not Tune's own tables
    logging.getLogger("ray.tune").setLevel(logging.WARNING)  # "wrote the experiment state" lines
    # After Ctrl-C Tune suggests its Python API (Tuner.restore); the console prints the command that resumes.
    logging.getLogger("ray.tune.tune").addFilter(lambda record: "Resume experiment with" not in record.getMessage())
    # Checkpointing every epoch with num_to_keep=2 snapshots the experiment often; that is intended.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Ray's own INFO lines (its dashboard URL, in ANSI colours) repeat what the console prints itself.
    quiet = {"log_to_driver": True, "logging_level": logging.WARNING}
    if address:
        context = ray.init(address=address, **quiet)
    else:
        watchdog.start(os.getpid())  # a SIGKILLed driver would leave two of Ray's agents running
        # Ray warns that it chose token authentication, its default for a local instance; the console says
        # where the dashboard's token is instead (commands.dashboard_token_hint). (Setting RAY_AUTH_MODE here
        # is too late: this process has read Ray's config already, and its GCS client would send no token.)
        logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(
            lambda record: "Token authentication is enabled" not in record.getMessage())
        context = ray.init(num_cpus=num_cpus, include_dashboard=True, dashboard_host=dashboard_host, **quiet)
    url = context.dashboard_url or ""
    return url if not url or url.startswith("http") else f"http://{url}"


def check_resources(plan: Plan, wait_s: float = 0.0) -> None:
    """Asking for more GPUs (or CPUs) per trial than any node has is an error, not a hang.

    On a cluster (``wait_s`` > 0) the autoscaler is first asked for one such node, and given ``wait_s``
    seconds to add it: an autoscaling cluster starts without GPU workers.
    """
    import ray  # deferred: Ray loads only when an ablation runs (here and below)

    bundle = {"CPU": plan.cpus_per_trial, "GPU": plan.gpus_per_trial}
    if not _fitting_node(bundle) and wait_s > 0:
        from ray.autoscaler.sdk import request_resources  # deferred: as above

        print(f"waiting up to {wait_s:.0f} s for a node with {bundle} (autoscaler)", flush=True)
        request_resources(bundles=[bundle])
        deadline = time.time() + wait_s
        while not _fitting_node(bundle) and time.time() < deadline:
            time.sleep(5)
        request_resources(bundles=[])  # from here on Tune's own demand drives the autoscaler
    if not _fitting_node(bundle):
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        total_gpus = sum(n.get("GPU", 0) for n in nodes)
        raise ValueError(f"no Ray node has {plan.gpus_per_trial:g} GPU(s) and {plan.cpus_per_trial:g} CPU(s) for "
                         f"one trial (the cluster has {total_gpus:g} GPUs on {len(nodes)} node(s)); lower "
                         f"--gpus-per-trial / --cpus-per-trial or add GPU nodes")


def _fitting_node(bundle: dict) -> bool:
    import ray  # deferred: as above

    return any(all(n["Resources"].get(k, 0) >= v for k, v in bundle.items())
               for n in ray.nodes() if n.get("Alive"))


def build_tuner(plan: Plan, tracking: Tracking, restore: bool, recovered: dict[str, str] | None = None):
    """A new Tuner, Tune's restored one (``restore``), or, with ``recovered`` ({trial key: run folder}), a new
    Tune state whose trials continue from those folders (orchestrator/recovery.py)."""
    from ray import tune  # deferred: as above

    from orchestrator.trainable import restoration_trial  # deferred: imports Ray Tune

    threads = max(1, int(plan.cpus_per_trial))
    trainable = tune.with_resources(
        tune.with_parameters(restoration_trial, base=plan.base,
                             settings={s.name: s for s in plan.ablation.settings} | optuna_setting(plan),
                             tracking=tracking, ablation=plan.ablation.name, threads=threads,
                             tuned=plan.ablation.tuned, recovered=recovered),
        {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial},
    )
    if restore:
        return tune.Tuner.restore(plan.experiment_path, trainable=trainable, resume_unfinished=True,
                                  resume_errored=True)
    return tune.Tuner(trainable, param_space=param_space(plan), tune_config=tune_config(plan),
                      run_config=run_config(plan))


def param_space(plan: Plan) -> dict:
    from ray import tune  # deferred: as above

    if plan.optuna_samples:
        tuned = plan.ablation.tuned
        return {"setting": "optuna", "seed": plan.seeds[0], TUNED_PARAM: tune.uniform(tuned.low, tuned.high)}
    return {"setting": tune.grid_search(plan.ablation.names()), "seed": tune.grid_search(list(plan.seeds))}


def optuna_setting(plan: Plan) -> dict:
    return {"optuna": Setting("optuna", dict(plan.ablation.settings[0].overrides))} if plan.optuna_samples else {}


def tune_config(plan: Plan):
    from ray import tune  # deferred: as above

    # Trials reuse their worker process: its imports and the MLflow store's engine are paid once per worker,
    # not per trial (docs/overhead.md); every trial seeds itself and resets its peak-memory counters.
    if not plan.optuna_samples:
        return tune.TuneConfig(max_concurrent_trials=plan.max_concurrent, reuse_actors=True)
    from ray.tune.search.optuna import OptunaSearch  # deferred: as above

    # The best supernet's validation score (never the test set) is what Optuna maximises.
    searcher = OptunaSearch(metric=M.SELECTION_SCORE, mode="max", seed=plan.seeds[0])
    return tune.TuneConfig(search_alg=searcher, num_samples=plan.optuna_samples,
                           max_concurrent_trials=plan.max_concurrent, reuse_actors=True)


def run_config(plan: Plan):
    from ray import tune  # deferred: as above

    from orchestrator.progress import AblationProgress, StatusLine, TrialLines  # deferred: imports Ray Tune
    from orchestrator.recovery import StopOnFullDisk  # deferred: as above

    ablation = AblationProgress(len(plan.grid()))
    return tune.RunConfig(
        name=plan.experiment, storage_path=plan.storage_uri,
        failure_config=tune.FailureConfig(max_failures=plan.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        progress_reporter=StatusLine(ablation),
        callbacks=[TrialLines(ablation, plan.progress_columns), StopOnFullDisk()],
        verbose=1,
    )
