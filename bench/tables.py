"""How fast tables come out: Table 1 from a Parquet cache of 10,000 runs, and a first load from MLflow.

Run: ``PYTHONPATH=. .venv/bin/python bench/tables.py [--runs 10000] [--mlflow-runs 300]``.
"""

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from analysis.api import table
from analysis.load import load_runs
from analysis.synthetic import synthetic_records, synthetic_runs
from orchestrator.results import layout

STRUCTURAL = ("run_id", "parent_run_id", "run_name", "status", "start_time", "end_time")
TABLE_1 = layout("lwas", "denoise")  # the LWAS ablation on denoising


def bench_cache(runs: int, folder: Path) -> None:
    cache = folder / "runs.parquet"
    synthetic_runs(runs, TABLE_1).to_parquet(cache, index=False)
    start = time.perf_counter()
    frame = pd.read_parquet(cache)
    loaded = time.perf_counter()
    summary, _ = table(frame, TABLE_1)
    done = time.perf_counter()
    print(f"{runs} runs, {frame.shape[1]} columns, cache {cache.stat().st_size / 1e6:.1f} MB")
    print(f"  read Parquet cache: {loaded - start:.3f} s; build Table 1: {done - loaded:.3f} s; "
          f"total {done - start:.3f} s  (n per row: {list(summary.n)})")


def _fill_store(uri: str, runs: int) -> str:
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("bench")
    parent = client.create_run(experiment_id).info.run_id
    for record in synthetic_records(runs, TABLE_1):
        tags = {k: str(v) for k, v in record.items() if k not in STRUCTURAL and isinstance(v, str)
                and not k.startswith("param.")}
        run_id = client.create_run(experiment_id, tags={**tags, "mlflow.parentRunId": parent}).info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, 0) for k, v in record.items() if isinstance(v, float)]
        params = [Param(k[len("param."):], v) for k, v in record.items() if k.startswith("param.")]
        client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("bench", "1")])
        client.set_terminated(run_id)
    client.set_terminated(parent)
    return parent


def bench_mlflow(runs: int, folder: Path, target: int) -> None:
    uri = f"sqlite:///{(folder / 'mlflow.db').resolve()}"
    start = time.perf_counter()
    _fill_store(uri, runs)
    filled = time.perf_counter()
    frame = load_runs(uri, experiment="bench", cache_dir=folder / "cache")
    loaded = time.perf_counter()
    again = load_runs(uri, experiment="bench", cache_dir=folder / "cache")
    cached = time.perf_counter()
    seconds = loaded - filled
    print(f"MLflow SQLite: created {runs} runs in {filled - start:.1f} s (setup, not timed)")
    print(f"  first load (search_runs pages -> typed frame -> Parquet): {seconds:.2f} s for {len(frame)} "
          f"runs, {len(frame) / seconds:.0f} runs/s")
    print(f"  second load ({again.attrs['source']}, fingerprint queries only): {cached - loaded:.3f} s")
    print(f"  ESTIMATE, extrapolated linearly, not measured: first load of {target} runs ~ "
          f"{target / (len(frame) / seconds):.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--mlflow-runs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_cache(args.runs, Path(tmp))
        bench_mlflow(args.mlflow_runs, Path(tmp), args.runs)


if __name__ == "__main__":
    main()
