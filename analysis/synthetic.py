"""Synthetic runs frames with the columns trials write: for the benchmark, the tests and trying a report."""

import numpy as np
import pandas as pd

from analysis.load import tidy
from analysis.schema import FINISHED, PARAM_PREFIX
from trials import metric_names as mn

_SETTINGS = {"lwas": ("rsws", "basic", "lwas", "resl", "lwas_resl"), "width": ("ws", "w40", "wm"),
             "ssim": ("mse", "mse_ssim"), "cellsharing": ("eq6", "eq5"),
             "lambda": ("lam0.3", "lam0.6", "lam1.0")}
_CONDITIONS = {"denoise": ("sigma30", "sigma50", "sigma70"),
               "sr": ("set5_x4", "set14_x4", "bsd100_x4", "urban100_x4", "manga109_x4")}
_BASE_PSNR = {"sigma30": 29.2, "sigma50": 26.8, "sigma70": 25.4, "set5_x4": 31.5, "set14_x4": 27.8,
              "bsd100_x4": 27.3, "urban100_x4": 25.3, "manga109_x4": 29.0}


def synthetic_records(n: int, ablation: str = "lwas", task: str = "denoise", seed: int = 0) -> list[dict]:
    """``n`` runs as MLflow would return them (params and tags as strings), cycling settings, then seeds."""
    rng = np.random.default_rng(seed)
    settings = _SETTINGS[ablation]
    records = []
    for i in range(n):
        setting, run_seed = settings[i % len(settings)], i // len(settings)
        record = {"run_id": f"run{i:06d}", "parent_run_id": "parent", "run_name": f"{setting}-s{run_seed}",
                  "status": FINISHED, "start_time": 1_700_000_000_000 + 1000 * i,
                  "end_time": 1_700_000_500_000 + 1000 * i, mn.TAG_ABLATION: ablation,
                  mn.TAG_SETTING: setting,
                  mn.TAG_SEED: str(run_seed), mn.TAG_METHOD: "rsws" if setting == "rsws" else "hinas",
                  mn.TAG_TASK: task, mn.TAG_COMMIT: "abc1234", mn.TAG_TRIAL_ID: f"t{i:06d}"}
        record.update(_metrics(rng, task, settings.index(setting)))
        record.update(_params(rng, setting))
        records.append(record)
    return records


def synthetic_runs(n: int, ablation: str = "lwas", task: str = "denoise", seed: int = 0) -> pd.DataFrame:
    return tidy(synthetic_records(n, ablation, task, seed))


def _metrics(rng: np.random.Generator, task: str, rank: int) -> dict:
    metrics = {mn.PARAMS_M: rng.uniform(0.2, 0.34), mn.SEARCH_TIME_S: rng.uniform(3000, 4000),
               mn.SEARCH_GPU_HOURS: rng.uniform(0.8, 1.2), mn.RETRAIN_TIME_S: rng.uniform(9000, 11000),
               mn.PEAK_MEMORY_MB: rng.uniform(3000, 5000), mn.INFERENCE_MS: rng.uniform(5, 9)}
    for condition in _CONDITIONS[task]:
        psnr = _BASE_PSNR[condition] + 0.03 * rank + rng.normal(0, 0.05)
        metrics[mn.psnr(condition)] = psnr
        metrics[mn.ssim(condition)] = 0.5 + psnr / 100 + rng.normal(0, 0.002)
    return metrics


def _params(rng: np.random.Generator, setting: str) -> dict:
    lam = setting[3:] if setting.startswith("lam") else "0.6"
    params = {"search.lam": lam, "search.epochs": "100", "space.lwas": str("lwas" in setting),
              "space.residual": str("resl" in setting), "space.cell_sharing": str(setting != "eq6"),
              "space.width_factors": "(1.0, 1.5, 2.0)", "data.root": "/data/bsd500",
              "search.lr": "0.025", "search.batch_size": "8"}
    params.update({f"extra.key{k}": str(rng.integers(0, 100)) for k in range(40)})
    return {PARAM_PREFIX + k: v for k, v in params.items()}
