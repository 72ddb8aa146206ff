"""Everything MLflow: the store, the parent run of an invocation, one child run per trial, what they log.

Runs are addressed by tags, never by creation order, so a trial retried by Ray or resumed after an
interrupted ablation finds and continues its own child run instead of adding a second one.
"""

import contextlib
import fcntl
import getpass
import json
import logging
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from trials import metric_names as M
from trials.saved_network import load_network

PARENT_TAG = "mlflow.parentRunId"
# The MLflow UI (3.x) opens an experiment by its kind: runs, metrics and models for model training; traces and
# an assistant (GenAI mode) for others.
EXPERIMENT_KIND_TAG, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"
TRIAL_KEY = "trial_key"  # ablation/setting/seed: stable across retries and resumes
TUNE_EXPERIMENT = "tune_experiment"  # on the parent run: which Ray Tune experiment it belongs to
NETWORKS = "networks"  # artifact folder of a trial's retrained networks (trials.saved_network files)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in trial logs


@dataclass(frozen=True)
class Tracking:
    """Where one ablation logs; passed to every trial (plain strings, so it pickles for Ray)."""

    uri: str
    experiment_id: str
    parent_run_id: str
    git_commit: str
    preset: str
    reuse_results: bool = True  # the result cache (trials.result_cache); --no-cache turns it off


def default_uri(base: Path, create: bool = True) -> str:
    """An absolute SQLite store (MLflow 3's default backend), so trials in any working folder share it;
    ``create=False`` (commands that only read) makes no folder for it."""
    if create:
        try:
            base.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise ValueError(f"cannot create {base} for the MLflow store (permission denied); run from a folder "
                             f"you can write to or pass --tracking-uri sqlite:///WRITABLE/PATH.db") from None
    return f"sqlite:///{(base / 'mlflow.db').resolve()}"


def check_reachable(uri: str, timeout: float = 5.0, create: bool = True) -> None:
    """Fails at once, with what to do, when the store cannot be reached: before any trial runs.

    ``create=False`` (commands that only read): a SQLite file that does not exist is an error, not a new store.
    """
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
                if response.status != 200:
                    raise OSError(f"HTTP {response.status}")
        except (OSError, urllib.error.URLError) as err:
            raise ValueError(f"MLflow tracking server {uri} is not reachable ({err}); start it "
                             f"(`mlflow server --host 127.0.0.1 --port 5000 ...`) or pass another --tracking-uri"
                             ) from None
    elif uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        if not path.is_absolute():  # each Ray worker would open its own file relative to its own folder
            raise ValueError(f"--tracking-uri {uri}: give an absolute path, sqlite:///{Path.cwd() / path}")
        if not create and not path.exists():
            raise ValueError(f"no runs yet: {path} does not exist; run the ablation first (or pass the "
                             f"--tracking-uri of the store that holds it)")
        if not path.parent.is_dir():
            raise ValueError(f"--tracking-uri {uri}: folder {path.parent} does not exist")
        if create and not _writable(path):
            raise ValueError(f"--tracking-uri {uri}: {path if path.exists() else path.parent} is not writable; "
                             f"pass a --tracking-uri in a folder you can write to")
        # Create the schema now, once, under a lock: MLflow migrates a new SQLite store on first open, and two
        # processes doing that at once (two ablations, trials, `mlflow ui`) fail with "table already exists".
        with _locked(path.with_name(path.name + ".lock")):
            client(uri).search_experiments(max_results=1)
    else:
        raise ValueError(f"--tracking-uri must be sqlite:///ABSOLUTE/PATH.db or http(s)://HOST:PORT, got {uri!r}")


def _writable(path: Path) -> bool:
    """Tried, not inferred from mode bits (root passes those; a read-only mount or /proc does not)."""
    try:
        if path.exists():
            with open(path, "ab"):
                return True
        with tempfile.TemporaryFile(dir=path.parent):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _locked(lock_path: Path):
    """An exclusive advisory lock for the block (the kernel drops it if the process dies)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def artifact_root(uri: str) -> Path | None:
    """Artifacts of a SQLite store live beside it (``<store folder>/mlartifacts``); a server keeps its own."""
    return Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts" if uri.startswith("sqlite:///") else None


def client(uri: str):
    from mlflow import MlflowClient  # deferred: MLflow loads only in processes that log or read runs

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)  # "Creating initial ... tables" lines
    return MlflowClient(tracking_uri=uri)


def experiment_id(uri: str, name: str, artifact_root: Path | None) -> str:
    c = client(uri)
    experiment = c.get_experiment_by_name(name)
    if experiment is None:
        location = (artifact_root / name).resolve().as_uri() if artifact_root else None
        experiment = c.get_experiment(c.create_experiment(name, artifact_location=location))
    if experiment.tags.get(EXPERIMENT_KIND_TAG) != MODEL_TRAINING:  # MLflow 3's UI opens others as GenAI
        c.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
    return experiment.experiment_id


def parent_run(uri: str, exp_id: str, name: str, tags: dict[str, str], resume: bool) -> str:
    """The invocation's parent run: a new one, or, when resuming, the last one of this Tune experiment."""
    c = client(uri)
    if resume:
        runs = c.search_runs([exp_id], filter_string=f"tags.{TUNE_EXPERIMENT} = '{name}'",
                             order_by=["attributes.start_time DESC"], max_results=1)
        if runs:
            c.update_run(runs[0].info.run_id, status="RUNNING")
            return runs[0].info.run_id
    return c.create_run(exp_id, tags=tags, run_name=name).info.run_id


def finish_parent(uri: str, run_id: str, status: str) -> None:
    """Ends the parent run with ``status`` (FINISHED, FAILED, KILLED). Child runs left unfinished end as KILLED
    (``--resume`` sets them running again): RUNNING ones, and in an interrupted ablation (no trial failed) also
    those the stopped trials marked FAILED as they were stopped."""
    c = client(uri)
    if status != "FINISHED":
        experiment = c.get_run(run_id).info.experiment_id
        stopped = ("RUNNING", "FAILED") if status == "KILLED" else ("RUNNING",)
        for run in c.search_runs([experiment], f"tags.`{PARENT_TAG}` = '{run_id}'", max_results=10_000):
            if run.info.status in stopped:
                c.set_terminated(run.info.run_id, "KILLED")
    c.set_terminated(run_id, status)


def log_evaluation(uri: str, experiment: str, run_name: str, tags: dict[str, str], params: dict[str, object],
                   metrics: dict[str, float]) -> str:
    """One finished run outside any ablation (an `evaluate`): tags, params and final metrics; its id."""
    c = client(uri)
    run_id = c.create_run(experiment_id(uri, experiment, artifact_root(uri)), tags=tags, run_name=run_name).info.run_id
    log_params(c, run_id, params)
    log_final_metrics(uri, run_id, metrics)
    c.set_terminated(run_id, "FINISHED")
    return run_id


def log_final_metrics(uri: str, run_id: str, metrics: dict[str, float]) -> None:
    """Metrics with one value each (step 0), in batches of MLflow's limit."""
    from mlflow.entities import Metric  # deferred: as in ``client``

    now, items = int(time.time() * 1000), [(k, float(v)) for k, v in metrics.items()]
    for start in range(0, len(items), 1000):
        client(uri).log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in items[start:start + 1000]])


def invocation_trials(uri: str, run_id: str) -> list:
    """The finished trial runs (no reference rows) of an ablation's parent run; [] for any other run."""
    c = client(uri)
    try:
        experiment = c.get_run(run_id).info.experiment_id
    except Exception:  # noqa: BLE001 - an unknown run: run_networks says so
        return []
    children = c.search_runs([experiment], f"tags.`{PARENT_TAG}` = '{run_id}' and attributes.status = 'FINISHED'",
                             max_results=10_000)
    return [r for r in children if M.TAG_REFERENCE not in r.data.tags]


def run_networks(uri: str, run_id: str) -> list[Path]:
    """The retrained networks a trial's run holds (artifact paths under ``networks/``; their ONNX copies
    beside them are not counted)."""
    try:
        return [Path(a.path) for a in client(uri).list_artifacts(run_id, NETWORKS) if a.path.endswith(".pt")]
    except Exception as err:  # noqa: BLE001 - MLflow raises several kinds for an unknown run
        raise ValueError(f"{run_id}: neither a file, a run folder nor an MLflow run in {uri} ({err})") from None


def download(uri: str, run_id: str, artifact: Path, folder: Path) -> Path:
    return Path(client(uri).download_artifacts(run_id, str(artifact), str(folder)))


def git_commit(folder: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def log_params(mlflow_client, run_id: str, params: dict[str, object], logged: dict[str, str] | None = None) -> None:
    """The params not yet on the run (``logged``: its params, if already read): an MLflow param is set once,
    so a resumed trial or invocation keeps its first values."""
    from mlflow.entities import Param  # deferred: as above

    if logged is None:
        logged = mlflow_client.get_run(run_id).data.params
    todo = [Param(k, str(v)) for k, v in params.items() if k not in logged]
    for start in range(0, len(todo), 100):  # MLflow's batch limit
        mlflow_client.log_batch(run_id, params=todo[start:start + 100])


def source_tags() -> dict[str, str]:
    """MLflow's own source tags (its UI shows them as the run's source and user)."""
    return {"mlflow.source.name": "python -m orchestrator", "mlflow.source.type": "LOCAL",
            "mlflow.user": getpass.getuser()}


TAG_VALUE_CHARS = 8000  # MLflow's limit on a tag value


def all_experiment_ids(c) -> list[str]:
    """Every experiment of the store behind client ``c``: the result cache looks across all of them."""
    return [e.experiment_id for e in c.search_experiments(max_results=10_000)]


def finished_trial_keys(tracking: Tracking) -> set[str]:
    """Trial keys of the parent's FINISHED child runs."""
    query = f"tags.`{PARENT_TAG}` = '{tracking.parent_run_id}' and attributes.status = 'FINISHED'"
    runs = client(tracking.uri).search_runs([tracking.experiment_id], query, max_results=10_000)
    return {r.data.tags.get(TRIAL_KEY) for r in runs}


def model_signature(io) -> tuple:
    """(MLflow signature, input example) of a network of ``io``: float32 (N, C, H, W) images in [0, 1], any N,
    H and W (SR: the output H and W are scale times the input's), so the model page and `mlflow.pyfunc`
    take whole images."""
    import numpy as np  # deferred (here and below): only a trial that logs networks needs them
    from mlflow.models import ModelSignature  # deferred: as above
    from mlflow.types import Schema, TensorSpec  # deferred: as above

    images = lambda channels: Schema([TensorSpec(np.dtype("float32"), (-1, channels, -1, -1))])  # noqa: E731
    example = np.random.default_rng(0).random((1, io.in_channels, 32, 32), dtype=np.float32)
    return ModelSignature(inputs=images(io.in_channels), outputs=images(io.out_channels)), example


class TrialRun:
    """The child run of one trial; ``open`` continues an existing one for the same trial key."""

    def __init__(self, tracking: Tracking, trial_key: str, run_name: str, tags: dict[str, str]):
        self.tracking, self.client = tracking, client(tracking.uri)
        self.run_id = self._find(trial_key) or self.client.create_run(
            tracking.experiment_id, run_name=run_name,
            tags={**tags, TRIAL_KEY: trial_key, PARENT_TAG: tracking.parent_run_id, M.TAG_COMMIT: tracking.git_commit,
                  M.TAG_INVOCATION: tracking.parent_run_id, M.TAG_PRESET: tracking.preset, **source_tags()},
        ).info.run_id
        self.client.update_run(self.run_id, status="RUNNING")

    def _find(self, trial_key: str) -> str | None:
        runs = self.client.search_runs(
            [self.tracking.experiment_id],
            filter_string=f"tags.{TRIAL_KEY} = '{trial_key}' and tags.`{PARENT_TAG}` = '{self.tracking.parent_run_id}'",
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def log_params(self, params: dict[str, object]) -> None:
        log_params(self.client, self.run_id, params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric  # deferred: as above

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step or 0) for k, v in metrics.items() if isinstance(v, int | float)]
        if items:
            self.client.log_batch(self.run_id, metrics=items)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def log_artifacts(self, paths: list[Path]) -> None:
        for path in paths:
            if path.exists():
                self.client.log_artifact(self.run_id, str(path))

    def finished_twin(self, tag: str, value: str) -> str | None:
        """The first finished run anywhere in the store whose ``tag`` is ``value`` (the result cache)."""
        runs = self.client.search_runs(all_experiment_ids(self.client),
                                       f"tags.`{tag}` = '{value}' and attributes.status = 'FINISHED'",
                                       order_by=["attributes.start_time ASC"], max_results=1)
        return runs[0].info.run_id if runs else None

    def download_files(self, run_id: str, names: tuple[str, ...], into: Path) -> None:
        """``names`` (those the run has) and every file under its ``networks/``, flat in ``into``."""
        present = {a.path for a in self.client.list_artifacts(run_id)}
        wanted = [name for name in names if name in present]
        wanted += [a.path for a in self.client.list_artifacts(run_id, NETWORKS) if not a.is_dir]
        for path in wanted:
            local = Path(self.client.download_artifacts(run_id, path, str(into)))
            if local.parent != into:
                local.rename(into / local.name)

    def log_networks(self, paths: list[Path]) -> None:
        """Each retrained network: its self-describing file under ``networks/`` (what ``apply`` reads, with
        ``weights_only=True``) and an MLflow PyTorch model of the same weights, shown with the run's models."""
        import mlflow  # deferred (here and in this module): MLflow loads only in processes that log
        import mlflow.pytorch  # deferred: as above

        existing = {a.path for a in self.client.list_artifacts(self.run_id, NETWORKS)}
        todo = [p for p in paths if f"{NETWORKS}/{p.name}" not in existing]  # a resumed trial logs each once
        if not todo:
            return
        mlflow.set_tracking_uri(self.tracking.uri)
        # The pickled model is a convenience for MLflow's UI and loaders; `apply` reads the weights-only file.
        logging.getLogger("mlflow.pytorch").setLevel(logging.ERROR)
        with mlflow.start_run(run_id=self.run_id):
            for path in todo:
                net, info = load_network(path)
                signature, example = model_signature(info["io"])
                mlflow.pytorch.log_model(net, name=path.stem, serialization_format="pickle",
                                         pip_requirements=[f"torch=={torch.__version__}"],
                                         extra_files=[str(path)], signature=signature, input_example=example,
                                         params={"task": info["task"], "condition": info["condition"],
                                                 "width": info["width"], "space": info["genotype"].space})
                self.client.log_artifact(self.run_id, str(path), artifact_path=NETWORKS)
                if path.with_suffix(".onnx").exists():  # eval.export_onnx
                    self.client.log_artifact(self.run_id, str(path.with_suffix(".onnx")), artifact_path=NETWORKS)

    def log_inputs(self, datasets: list[dict[str, str]]) -> None:
        """Each data set as an MLflow dataset input (name, digest, source; context train or test), once."""
        from mlflow.entities import Dataset, DatasetInput, InputTag  # deferred: as above
        from mlflow.exceptions import MlflowException  # deferred: as above

        run = self.client.get_run(self.run_id)
        logged = {(d.dataset.name, d.dataset.digest) for d in (run.inputs.dataset_inputs if run.inputs else [])}
        todo = [DatasetInput(Dataset(d["name"], d["digest"], "local", d["source"],
                                     profile=json.dumps({"images": int(d["images"])})),
                             tags=[InputTag("mlflow.data.context", d["context"])])
                for d in datasets if (d["name"], d["digest"]) not in logged]
        for attempt in range(3):
            try:
                if todo:
                    self.client.log_inputs(self.run_id, datasets=todo)
                return
            except MlflowException as err:
                # Two trials logging the same new data set at once: the SQLite store inserts the experiment's
                # dataset row twice and the second insert fails (UNIQUE constraint); the row now exists, so
                # the same call succeeds when repeated.
                if "UNIQUE constraint failed" not in str(err) or attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    @contextlib.contextmanager
    def system_metrics(self, interval_s: float = 10.0):
        """MLflow's system metrics (CPU, memory, disk, network; GPU where its libraries are) for the block."""
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor  # deferred: as above

        logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)  # start/stop lines per trial
        monitor = SystemMetricsMonitor(self.run_id, sampling_interval=interval_s, resume_logging=True,
                                       tracking_uri=self.tracking.uri)
        monitor.start()
        try:
            yield
        finally:
            monitor.finish()

    def finish(self, status: str = "FINISHED") -> None:
        """FINISHED, FAILED, or KILLED (stopped; ``--resume`` continues it)."""
        self.client.set_terminated(self.run_id, status)

