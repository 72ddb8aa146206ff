"""One trial, start to end: search -> genotype -> retrain per condition -> evaluate -> saved networks.

Plain Python (no Ray, no MLflow): the Ray trainable and the ``search`` command both call ``run_trial``;
``TrialHooks`` is how they watch it. Task, space, method and loss are looked up in their registries by the
names the config carries. The run folder gets config.json, genotype.json, search.json, arch_weights.npz,
metrics.json, one ``network_<condition>.pt`` per condition (``trials.saved_network``) and checkpoint.pt; a
second call with the same folder resumes from the checkpoint and ends with the same genotype and metrics
as an uninterrupted run.
"""

import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from search_space import Genotype, genotype_from_json, load_genotype
from trials import checkpoint, result_cache
from trials import metric_names as M
from trials.complexity import latency_ms
from trials.config import TrialConfig, config_differences, to_json
from trials.device import configure_backends, device_hours, peak_memory_mb, peak_rss_mb, reset_peak_memory
from trials.methods import SearchContext, SearchMethod
from trials.retrain import build, conditions, evaluate_condition, train, train_sampler, warm_start
from trials.saved_network import load_network, network_file_name, save_network
from trials.search import SearchState, run_search
from trials.workload import Workload, prepare


class TrialHooks:
    """Callbacks of a running trial. All optional; the orchestrator's subclass reports to Ray and MLflow."""

    def prepared(self, datasets: list[dict[str, str]], device: torch.device) -> None:
        """When the data is loaded and checked (``Workload.datasets``) and the device chosen."""

    def search_epoch(self, metrics: dict, run_dir: Path) -> None:
        """After each search epoch, once its checkpoint is on disk."""

    def checkpointed(self, run_dir: Path, phase: str) -> None:
        """After a retrain checkpoint is on disk."""

    def retrain_progress(self, condition: str, iteration: int, total: int, loss: float) -> None:
        """Every ``retrain.log_interval`` iterations: the condition's key (``sigma30``), iterations done of
        ``total``, and the mean training loss since the last call."""

    def searched(self, genotype: Genotype, summary: dict, run_dir: Path) -> None:
        """When the search has chosen its genotype (genotype.json and search.json written)."""

    def finished(self, metrics: dict, run_dir: Path) -> None:
        """When metrics.json is written (the retrained networks are in the run folder by then)."""

    def keyed(self, kind: str, key: str) -> None:
        """The trial's result-cache key of ``kind`` (``trials.result_cache``: trial or retrain), once known."""

    def reusable(self, kind: str, key: str, into: Path) -> bool:
        """Whether a finished trial with this key exists: its files (genotype.json, search.json, metrics.json,
        arch_weights.npz, network_*) are then written to ``into``, to be adopted instead of computed. Default:
        no cache."""
        return False

    def adopted(self, kind: str) -> None:
        """After the files ``reusable`` wrote were adopted (complete, so the trial computes no more of them)."""


def run_trial(cfg: TrialConfig, run_dir: str | Path, hooks: TrialHooks | None = None) -> dict:
    run_dir, hooks = Path(run_dir), hooks or TrialHooks()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_config(cfg, run_dir)
    work = prepare(cfg)  # every data problem surfaces here, before any training
    device = pick_device(cfg.device)
    datasets = work.datasets(cfg)
    hooks.prepared(datasets, device)
    seed_everything(cfg.seed, cfg.deterministic)
    state = checkpoint.load(run_dir) or {"phase": M.PHASE_SEARCH}
    key = result_cache.trial_key(cfg, datasets, device)
    hooks.keyed(result_cache.TRIAL, key)
    if "search" not in state and state["phase"] == M.PHASE_SEARCH:  # nothing computed yet: a finished twin will do
        state = reuse(result_cache.TRIAL, key, cfg, state, run_dir, hooks)
    if state["phase"] == M.PHASE_SEARCH:
        state = search_phase(cfg, work, device, state, run_dir, hooks)
    key = result_cache.retrain_key(cfg, state["genotype"], datasets, device)  # a reused trial's too
    hooks.keyed(result_cache.RETRAIN, key)
    if state["phase"] == M.PHASE_RETRAIN and RetrainState(**state["retrain"]).fresh:
        state = reuse(result_cache.RETRAIN, key, cfg, state, run_dir, hooks)
    if state["phase"] == M.PHASE_RETRAIN:
        state = retrain_phase(cfg, work, device, state, run_dir, hooks)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    hooks.finished(metrics, run_dir)
    return metrics


def search_phase(cfg, work: Workload, device, state: dict, run_dir: Path, hooks: TrialHooks) -> dict:
    reset_peak_memory(device)  # the resumed search's earlier peak is in the checkpoint
    method = make_method(cfg, device)
    net = method.supernet
    progress = SearchState()
    if "search" in state:
        net.load_state_dict(state["search"]["model"])
        method.load_state_dict(state["search"]["method"])
        progress = SearchState(**state["search"]["progress"])
    peak = state.get(M.PEAK_MEMORY_MB, 0.0)

    def on_epoch(progress: SearchState) -> None:
        checkpoint.save({"phase": M.PHASE_SEARCH, M.PEAK_MEMORY_MB: max(peak, peak_memory_mb(device)),
                         "search": {"model": net.state_dict(), "method": method.state_dict(),
                                    "progress": progress.to_dict()}}, run_dir)
        hooks.search_epoch(progress.history[-1], run_dir)

    if method.searches:
        progress = run_search(method, work, progress, device, on_epoch)
    genotype, selection = method.final_genotype(work.val_pairs, progress.best)
    summary = search_summary(method.summary(progress.best, selection), progress,
                             max(peak, peak_memory_mb(device)), device)
    genotype.save(run_dir / "genotype.json")
    (run_dir / "search.json").write_text(json.dumps(summary, indent=2) + "\n")
    save_arch_weights(method.final_arch_weights(progress.best), run_dir)
    state = {"phase": M.PHASE_RETRAIN, "genotype": genotype.to_json(), "summary": summary,
             "retrain": RetrainState().to_dict()}
    checkpoint.save(state, run_dir)
    hooks.searched(genotype, summary, run_dir)
    return state


def reuse(kind: str, key: str, cfg: TrialConfig, state: dict, run_dir: Path, hooks: TrialHooks) -> dict:
    """The state after adopting a finished twin's files (the whole trial, or its retraining), or ``state``
    as it was when there is none or its files are incomplete."""
    # Downloaded outside the trial folder where the disk allows: Ray syncs that folder while the trial runs.
    folder = Path(tempfile.mkdtemp(prefix="reused-", dir=checkpoint.scratch_folder(run_dir)))
    try:
        if not hooks.reusable(kind, key, folder) or not has_every_network(folder, cfg):
            return state
        state = adopt(kind, folder, cfg, state, run_dir, hooks)
        hooks.adopted(kind)
        return state
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def has_every_network(folder: Path, cfg: TrialConfig) -> bool:
    names = [network_file_name(cfg.components.task.condition_column, c) for c in conditions(cfg)]
    return all((folder / name).is_file() for name in [*names, "metrics.json", "genotype.json", "search.json"])


def adopt(kind: str, folder: Path, cfg: TrialConfig, state: dict, run_dir: Path, hooks: TrialHooks) -> dict:
    """A whole trial: its genotype, search summary, networks and metrics. Its retraining: networks and
    metrics, with this trial's own search figures (time, memory, cost) in the metrics."""
    for path in folder.glob("network_*"):
        shutil.copy2(path, run_dir / path.name)
    metrics = json.loads((folder / "metrics.json").read_text())
    if kind == result_cache.TRIAL:
        for name in ("genotype.json", "search.json", ARCH_WEIGHTS):
            if (folder / name).exists():
                shutil.copy2(folder / name, run_dir / name)
        summary = json.loads((run_dir / "search.json").read_text())
        genotype = load_genotype(run_dir / "genotype.json")
        state = {"phase": M.PHASE_DONE, "genotype": genotype.to_json(), "summary": summary}
        hooks.searched(genotype, summary, run_dir)
    else:
        metrics |= search_metrics(state["summary"])
        state = {"phase": M.PHASE_DONE, "genotype": state["genotype"], "summary": state["summary"]}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    checkpoint.save(state, run_dir)
    return state


def make_method(cfg: TrialConfig, device: torch.device) -> SearchMethod:
    """The supernet of the configured space (seeded) and the configured method around it."""
    parts = cfg.components
    io = parts.task.search_io()
    torch.manual_seed(cfg.seed)
    net = parts.space.supernet(cfg.space, io).to(device)
    ctx = SearchContext(net, parts.space, cfg.space, cfg.search, parts.build_loss(), parts.task.protocol(), io.scale,
                        cfg.seed)
    return parts.method(cfg.method, ctx)


@dataclass
class RetrainState:
    """Retraining's progress, as a checkpoint holds it: conditions done (``index``), the current one's next
    iteration with its model and optimiser (None between conditions), the results so far and the wall time
    across resumes."""

    index: int = 0
    iteration: int = 0
    results: dict = field(default_factory=dict)  # str(condition) -> that condition's results
    seconds: float = 0.0
    model: dict | None = None
    optimizer: dict | None = None

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # no deep copy of the state dicts

    @property
    def fresh(self) -> bool:
        return self.index == 0 and self.iteration == 0


def retrain_phase(cfg, work: Workload, device, state: dict, run_dir: Path, hooks: TrialHooks) -> dict:
    genotype = genotype_from_json(state["genotype"])
    progress = RetrainState(**state["retrain"])

    def save() -> None:
        checkpoint.save({**state, "retrain": progress.to_dict()}, run_dir)
        hooks.checkpointed(run_dir, M.PHASE_RETRAIN)

    for index, condition in enumerate(conditions(cfg)):
        if index >= progress.index:
            retrain_condition(cfg, work, device, genotype, (index, condition), progress, save, run_dir, hooks)
    metrics = final_metrics({**state, "retrain": progress.to_dict()})
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    state = {"phase": M.PHASE_DONE, "genotype": state["genotype"], "summary": state["summary"]}
    checkpoint.save(state, run_dir)
    return state


def retrain_condition(cfg, work: Workload, device, genotype: Genotype, position: tuple[int, int],
                      progress: RetrainState, save, run_dir: Path, hooks: TrialHooks) -> None:
    """Retrains, scores and keeps the network of one condition (``position``: its index, its value), from
    where ``progress`` stands; ``save`` checkpoints."""
    (index, condition), task = position, cfg.components.task
    net, optimizer = build(genotype, cfg, condition, device)
    if progress.model is not None:
        net.load_state_dict(progress.model)
        optimizer.load_state_dict(progress.optimizer)
    elif cfg.retrain.warm_start_from not in (None, condition):
        source, _ = load_network(run_dir / network_file_name(task.condition_column, cfg.retrain.warm_start_from))
        warm_start(net, source.state_dict())
    start, seconds_before, key = time.perf_counter(), progress.seconds, task.condition_key(condition)

    def on_checkpoint(next_iteration: int) -> None:
        progress.index, progress.iteration = index, next_iteration
        progress.model, progress.optimizer = net.state_dict(), optimizer.state_dict()
        progress.seconds = seconds_before + time.perf_counter() - start
        save()

    def on_progress(iteration: int, loss: float) -> None:
        hooks.retrain_progress(key, iteration, cfg.retrain.iterations, loss)

    train(net, optimizer, train_sampler(work, cfg, condition), cfg, progress.iteration, device, on_checkpoint,
          condition, on_progress)
    results = evaluate_condition(net, work, cfg, condition)
    kept = keep_network(net, genotype, cfg, condition, run_dir)
    if cfg.eval.export_onnx:
        results |= export_network(kept, key)
    progress.results[str(condition)] = results
    progress.index, progress.iteration, progress.model, progress.optimizer = index + 1, 0, None, None
    progress.seconds = seconds_before + time.perf_counter() - start
    save()


def final_metrics(state: dict) -> dict[str, float]:
    results = list(state["retrain"]["results"].values())
    per_network = (M.PARAMS_M + "_", M.MULT_ADDS_G + "_", M.LATENCY_MS + "_", M.ONNX_LATENCY_MS + "_")
    metrics = {k: v for r in results for k, v in r.items() if k.startswith(("psnr_", "ssim_", *per_network))}
    summary, first = state["summary"], results[0]
    metrics.update({
        M.PARAMS_M: first[M.PARAMS_M],  # the first condition's network (also per condition above)
        M.MULT_ADDS_G: first.get(M.MULT_ADDS_G, float("nan")),  # nan: retrained before Mult-Adds were counted
        M.INFERENCE_MS: float(np.mean([r[M.INFERENCE_MS] for r in results])),
        M.LATENCY_MS: first.get(M.LATENCY_MS, float("nan")),  # nan: retrained before latency was measured
        **({M.ONNX_LATENCY_MS: first[M.ONNX_LATENCY_MS]} if M.ONNX_LATENCY_MS in first else {}),
        **search_metrics(summary),
        M.RETRAIN_TIME_S: state["retrain"]["seconds"],
    })
    device_type = torch.device(summary.get("device", "cpu")).type
    metrics[M.RETRAIN_DEVICE_HOURS] = device_hours(state["retrain"]["seconds"], device_type, torch.get_num_threads())
    return metrics


def search_metrics(summary: dict) -> dict[str, float]:
    """The search's time, memory and cost as final metrics."""
    device_type = torch.device(summary.get("device", "cpu")).type
    return {
        **{k: summary[k] for k in (M.SEARCH_TIME_S, M.SEARCH_GPU_HOURS, M.PEAK_MEMORY_MB)},  # the same names
        **{k: summary[k] for k in (M.PEAK_RSS_MB, M.PEAK_CUDA_MB) if k in summary},  # older trials: absent
        M.SEARCH_DEVICE_HOURS: device_hours(summary[M.SEARCH_TIME_S], device_type, torch.get_num_threads()),
    }


def keep_network(net, genotype: Genotype, cfg: TrialConfig, condition: int, run_dir: Path) -> Path:
    task = cfg.components.task
    path = run_dir / network_file_name(task.condition_column, condition)
    return save_network(path, net, genotype, task.io(condition), cfg.retrain.base_width, task.name,
                        condition)


def export_network(path: Path, condition_key: str) -> dict[str, float]:
    """The kept network as ONNX beside it, and its latency in ONNX Runtime; an export that fails its check is
    reported and left out, since the trial's results stand without it."""
    from trials.onnx_network import ExportError, OnnxNetwork, export  # deferred: onnx loads only to export

    net, info = load_network(path)
    try:
        export(net, info, path.with_suffix(".onnx"))
    except ExportError as err:
        print(f"warning: {path.name} not exported to ONNX: {err}", file=sys.stderr)
        return {}
    latency = latency_ms(OnnxNetwork(path.with_suffix(".onnx"), threads=torch.get_num_threads()),
                         info["io"].in_channels)
    return {M.ONNX_LATENCY_MS: latency, M.per_condition(M.ONNX_LATENCY_MS, condition_key): latency}


def search_summary(method_summary: dict, progress: SearchState, peak_mb: float, device) -> dict:
    memory = {M.PEAK_RSS_MB: peak_rss_mb()} | ({M.PEAK_CUDA_MB: peak_mb} if device.type == "cuda" else {})
    return {**method_summary, M.SEARCH_TIME_S: progress.seconds, M.PEAK_MEMORY_MB: peak_mb, **memory,
            "device": str(device), M.SEARCH_GPU_HOURS: progress.seconds / 3600 if device.type == "cuda" else 0.0}


ARCH_WEIGHTS = "arch_weights.npz"


def save_arch_weights(weights: dict, run_dir: Path) -> None:
    """The architecture weights of the final genotype (e.g. alpha/beta softmax), for heat maps."""
    if weights:
        np.savez(run_dir / ARCH_WEIGHTS, **{name: w.numpy() for name, w in weights.items()})


def write_config(cfg: TrialConfig, run_dir: Path) -> None:
    """config.json; resuming with a different config, or a checkpoint whose config is unknown, is refused
    rather than mixing two runs."""
    path, text = run_dir / "config.json", to_json(cfg)
    if (run_dir / checkpoint.CHECKPOINT_NAME).exists():
        if not path.exists():
            raise ValueError(f"{run_dir} holds a checkpoint but no config.json, so it cannot be resumed safely; "
                             f"use a new --out folder or delete {checkpoint.CHECKPOINT_NAME} there to start over")
        differences = config_differences(path.read_text(), cfg)
        if differences:
            raise ValueError(f"{run_dir} holds a run with a different config ({'; '.join(differences)}); resume it "
                             f"with the run's values (--set key=value), use a new --out folder, or delete "
                             f"{path.name} and {checkpoint.CHECKPOINT_NAME} there to start over")
    path.write_text(text)


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but no CUDA GPU is visible; use device=cpu or device=auto")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    configure_backends(deterministic)

