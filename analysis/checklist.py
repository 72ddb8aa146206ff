"""The NAS best-practice checklist (Lindauer & Hutter, JMLR 2020), each item answered from what the store
records about a table's runs: code commit, data digests, seeds, protocol, search spaces, baselines, HPO,
hardware, versions, determinism and cost. An item the runs cannot answer says so; nothing is assumed."""

from collections.abc import Mapping

import pandas as pd

from analysis.tables import TableLayout, is_reference, select_runs
from trials import metric_names as mn

NOT_RECORDED = "not recorded for these runs"


def checklist(runs: pd.DataFrame, layout: TableLayout, provenance: Mapping[str, str] | None = None
              ) -> list[tuple[str, str]]:
    """(item, answer) in the checklist's order, for the finished runs the table uses."""
    chosen = select_runs(runs, layout)
    searched = chosen[~chosen[mn.TAG_SETTING].map(is_reference)] if len(chosen) else chosen
    provenance = dict(provenance or {})
    return [
        ("Code released, and the version that ran", _code(chosen, provenance)),
        ("Same data for every method (pixel digests)", _distinct(searched, mn.TAG_DATA, "data sets")),
        ("Same evaluation protocol for every method", _distinct(chosen, mn.TAG_PROTOCOL, "protocols")),
        ("Search space of each method", _per_setting(searched, mn.TAG_SPACE)),
        ("Random-architecture baseline", _random(searched)),
        ("Random search (with weight sharing) baseline", _baseline(searched, mn.BASELINE_RANDOM_SEARCH)),
        ("Seeds (independent runs) per row", _seeds(chosen)),
        ("Hyperparameter optimisation", _hpo(provenance)),
        ("Search and retraining cost", _cost(searched)),
        ("End-to-end time", _end_to_end(chosen)),
        ("Hardware", _distinct(searched, mn.TAG_HARDWARE, "kinds of hardware")),
        ("Software versions", _versions(searched)),
        ("Determinism", _distinct(searched, mn.TAG_DETERMINISM, "settings")),
    ]


def _values(runs: pd.DataFrame, column: str) -> list[str]:
    return sorted(runs[column].dropna().astype(str).unique()) if column in runs.columns else []


def _distinct(runs: pd.DataFrame, column: str, what: str) -> str:
    values = _values(runs, column)
    if not values:
        return NOT_RECORDED
    if len(values) == 1:
        return f"one for all runs: {values[0]}"
    return f"{len(values)} different {what}: " + " | ".join(values)


def _code(runs: pd.DataFrame, provenance: dict) -> str:
    commits = _values(runs, mn.TAG_COMMIT) or ([provenance["commit"]] if provenance.get("commit") else [])
    return f"this tool at commit {', '.join(commits)}" if commits else f"this tool; commit {NOT_RECORDED}"


def _per_setting(runs: pd.DataFrame, column: str) -> str:
    if column not in runs.columns or not len(runs):
        return NOT_RECORDED
    pairs = runs.groupby(mn.TAG_SETTING, sort=False)[column].agg(lambda v: ", ".join(sorted(set(map(str, v)))))
    return "; ".join(f"{setting}: {value}" for setting, value in pairs.items())


def _baseline(runs: pd.DataFrame, role: str) -> str:
    if mn.TAG_BASELINE not in runs.columns:
        return "no row in this table"
    rows = sorted(runs.loc[runs[mn.TAG_BASELINE] == role, mn.TAG_SETTING].unique())
    return f"yes: {', '.join(rows)}" if rows else "no row in this table"


def _random(runs: pd.DataFrame) -> str:
    answer = _baseline(runs, mn.BASELINE_RANDOM_ARCHITECTURE)
    return answer + " (rows compared with it get RI columns)" if answer.startswith("yes") else answer


def _seeds(runs: pd.DataFrame) -> str:
    if not len(runs):
        return NOT_RECORDED
    seeds = runs.groupby(mn.TAG_SETTING, sort=False)[mn.TAG_SEED].agg(lambda v: tuple(sorted(set(v.dropna()))))
    if seeds.nunique() == 1:
        return f"the same seeds for every row: {', '.join(map(str, seeds.iloc[0]))}"
    return "; ".join(f"{setting}: {', '.join(map(str, values))}" for setting, values in seeds.items())


def _hpo(provenance: dict) -> str:
    command = provenance.get("command", "")
    if "--search optuna" in command or "--search=optuna" in command:
        return "yes: Optuna chose the SSIM-loss weight (see the command); other settings are the preset's"
    if not command:
        return NOT_RECORDED
    return "none: every method runs with its preset's settings, fixed before any run; the command: " + command


def _cost(runs: pd.DataFrame) -> str:
    columns = [mn.SEARCH_DEVICE_HOURS, mn.RETRAIN_DEVICE_HOURS]
    if not set(columns) <= set(runs.columns) or runs[columns].isna().all().all():
        return NOT_RECORDED
    units = ", ".join(_values(runs, mn.TAG_DEVICE_HOURS_UNIT)) or "device"
    per = runs.groupby(mn.TAG_SETTING, sort=False)[columns].mean()
    rows = "; ".join(f"{s}: {r[columns[0]]:.4g} + {r[columns[1]]:.4g}" for s, r in per.iterrows())
    return f"per run, mean {units}-hours of search + retraining (the table's cost columns): {rows}"


def _end_to_end(runs: pd.DataFrame) -> str:
    if not {"start_time", "end_time"} <= set(runs.columns) or not len(runs):
        return NOT_RECORDED
    start, end = pd.to_datetime(runs["start_time"]).min(), pd.to_datetime(runs["end_time"]).max()
    if pd.isna(start) or pd.isna(end):
        return NOT_RECORDED
    seconds = (end - start).total_seconds()
    return (f"{seconds / 60:.1f} min wall time from the first run's start to the last one's end ({len(runs)} runs, "
            f"reference rows included)")


def _versions(runs: pd.DataFrame) -> str:
    torch_versions, cuda = _values(runs, mn.TAG_TORCH_VERSION), _values(runs, mn.TAG_CUDA_VERSION)
    if not torch_versions:
        return NOT_RECORDED
    return f"torch {', '.join(torch_versions)}; CUDA {', '.join(cuda) or NOT_RECORDED}"
