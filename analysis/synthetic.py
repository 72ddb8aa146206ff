"""Synthetic runs shaped like the MLflow loader's output, for benchmarking the analysis, tests and trying a
report: ``n`` runs of a layout's settings and conditions (a resolved ``TableLayout`` with rows)."""

import numpy as np
import pandas as pd

from analysis.load import tidy
from analysis.schema import FINISHED, PARAM_PREFIX
from analysis.tables import TableLayout
from trials import metric_names as mn


def synthetic_records(n: int, layout: TableLayout, seed: int = 0) -> list[dict]:
    """``n`` runs as MLflow would return them (params and tags as strings), cycling settings, then seeds."""
    rng = np.random.default_rng(seed)
    settings = [row.setting for row in layout.rows]
    records = []
    for i in range(n):
        setting, run_seed = settings[i % len(settings)], i // len(settings)
        record = {"run_id": f"run{i:06d}", "parent_run_id": "parent", "run_name": f"{setting}-s{run_seed}",
                  "status": FINISHED, "start_time": 1_700_000_000_000 + 1000 * i,
                  "end_time": 1_700_000_500_000 + 1000 * i, mn.TAG_ABLATION: layout.ablation,
                  mn.TAG_SETTING: setting, mn.TAG_SEED: str(run_seed), mn.TAG_METHOD: f"method-{setting}",
                  mn.TAG_TASK: layout.task, mn.TAG_COMMIT: "abc1234", mn.TAG_TRIAL_ID: f"t{i:06d}"}
        record.update(_metrics(rng, layout.conditions, settings.index(setting)))
        record.update(_params(rng))
        records.append(record)
    return records


def synthetic_runs(n: int, layout: TableLayout, seed: int = 0) -> pd.DataFrame:
    return tidy(synthetic_records(n, layout, seed))


def _metrics(rng: np.random.Generator, conditions: tuple[str, ...], rank: int) -> dict:
    metrics = {mn.PARAMS_M: rng.uniform(0.2, 0.34), mn.SEARCH_TIME_S: rng.uniform(3000, 4000),
               mn.SEARCH_GPU_HOURS: rng.uniform(0.8, 1.2), mn.RETRAIN_TIME_S: rng.uniform(9000, 11000),
               mn.PEAK_MEMORY_MB: rng.uniform(3000, 5000), mn.INFERENCE_MS: rng.uniform(5, 9)}
    for index, condition in enumerate(conditions):
        psnr = 31.0 - 1.5 * index + 0.03 * rank + rng.normal(0, 0.05)
        metrics[mn.psnr(condition)] = psnr
        metrics[mn.ssim(condition)] = 0.5 + psnr / 100 + rng.normal(0, 0.002)
    # derived, not drawn: the random stream (and every number above, in every run) stays as it was
    metrics[mn.MULT_ADDS_G] = 90 * metrics[mn.PARAMS_M]
    metrics[mn.LATENCY_MS] = 4 * metrics[mn.INFERENCE_MS]
    return metrics


def _params(rng: np.random.Generator) -> dict:
    params = {"loss.lam": "0.6", "search.epochs": "100", "space.width_factors": "(1.0, 1.5, 2.0)",
              "data.root": "/data/set", "search.w_lr": "0.025", "search.batch_size": "8"}
    params.update({f"extra.key{k}": str(rng.integers(0, 100)) for k in range(40)})
    return {PARAM_PREFIX + k: v for k, v in params.items()}
