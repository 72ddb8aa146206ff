"""Column conventions of the tidy runs DataFrame (one row per trial), shared by every loader.

- Bookkeeping: ``run_id``, ``parent_run_id``, ``run_name``, ``status`` ('FINISHED', 'RUNNING', 'FAILED', ...),
  ``start_time`` / ``end_time`` (UTC timestamps).
- Tags: flat, under their names from ``trials.metric_names`` (``setting``, ``seed`` as Int64, ...).
- Metrics: flat, under their own names (``params_m``, ``psnr_sigma30``, ``search_gpu_hours``, ...), float64.
- Params: prefixed ``param.`` (``param.search.lam``), so a config key never collides with a tag or metric of
  the same name; each column is cast back from MLflow's strings as a whole (bool, then int, then float,
  else string), so one column has one dtype.

Per-epoch curves live in a second, long DataFrame: ``run_id, setting, seed, metric, step, value``.
"""

import pandas as pd

from trials import metric_names as mn

PARAM_PREFIX = "param."
RUN_COLUMNS = ("run_id", "parent_run_id", "run_name", "status", "start_time", "end_time")
CURVE_COLUMNS = ("run_id", mn.TAG_SETTING, mn.TAG_SEED, "metric", "step", "value")
FINISHED = "FINISHED"

_PSNR_PREFIX = mn.psnr("")
_BOOL = {"true": True, "false": False}


def cast_series(values: pd.Series) -> pd.Series:
    """A column of strings as bool, Int64, float64 or string: the narrowest type all its values parse as."""
    present = values.dropna().astype(str)
    if present.empty:
        return values.astype("str")
    if present.str.lower().isin(_BOOL).all():
        return values.map(lambda v: v if pd.isna(v) else _BOOL[str(v).lower()]).astype("boolean")
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().all():
        integral = present.str.fullmatch(r"[+-]?\d+").all()
        return pd.to_numeric(values, errors="coerce").astype("Int64" if integral else "float64")
    return values.astype("str")


def cast_params(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast every ``param.*`` column and the seed tag; other columns are left as they are."""
    out = frame.copy()
    for column in [c for c in out.columns if c.startswith(PARAM_PREFIX)]:
        out[column] = cast_series(out[column])
    if mn.TAG_SEED in out.columns:
        out[mn.TAG_SEED] = pd.to_numeric(out[mn.TAG_SEED], errors="coerce").astype("Int64")
    return out


def conditions_in(columns: pd.Index | list[str]) -> list[str]:
    """Conditions with a PSNR column, e.g. ['sigma30', 'set5_x4'], in column order."""
    return [c[len(_PSNR_PREFIX):] for c in columns if c.startswith(_PSNR_PREFIX)]
