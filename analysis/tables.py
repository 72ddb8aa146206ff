"""The paper's tables as data: a ``TableLayout`` per (ablation, task) and pure runs -> summary functions.

Summary frame (one row per layout row, in the layout's order): ``setting, label, <mark columns>, n,
complete, params_min, params_max, params_mean`` and, per value column ``c`` (``psnr_sigma30``,
``search_gpu_hours``, ...), ``c_mean`` and ``c_std``. Cells are mean and *sample* std (ddof=1, NaN with one
seed) over the finished runs of a setting, one run per seed (the latest when a seed ran twice); params are
min-max over seeds. ``complete`` is False when fewer than ``expected_seeds`` seeds finished; a setting
without runs is kept as an empty row.

Conditions: a layout lists the paper's conditions. When the runs have none of them (e.g. the built-in data,
whose SR test set is 'builtin'), ``resolve`` derives them from the ``psnr_<cond>`` columns present: sigma
conditions for denoising (by sigma), ``*_x<scale>`` for SR (paper test-set order, then by name), only the
layout's scale when the layout fixes one and the runs have it. When some are present, all the paper's stay
(missing ones show as empty columns rather than vanishing).
"""

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.schema import FINISHED, conditions_in, scale_of, sigma_of
from trials import metric_names as mn

METRICS = ("psnr", "ssim")
SR_TEST_SETS = ("set5", "set14", "bsd100", "urban100", "manga109")
TEST_SET_LABELS = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100", "urban100": "Urban100",
                   "manga109": "Manga109", "builtin": "built-in"}
EXTRA_LABELS = {mn.SEARCH_GPU_HOURS: "Search GPU h", mn.PEAK_MEMORY_MB: "Peak mem. (MB)",
                mn.SEARCH_TIME_S: "Search time (s)", mn.RETRAIN_TIME_S: "Retrain time (s)",
                mn.INFERENCE_MS: "Inference (ms)"}


@dataclass(frozen=True)
class Row:
    setting: str  # the setting tag the runs carry
    label: str  # what the paper calls the row
    marks: tuple[str, ...] = ()  # one value per TableLayout.mark_columns


@dataclass(frozen=True)
class TableLayout:
    table_id: str  # 'table1', or '<ablation>_<task>' where the paper has no table
    ablation: str
    task: str
    title: str
    rows: tuple[Row, ...] | None  # None: one row per setting in the runs (the lambda ablation)
    conditions: tuple[str, ...] = ()  # empty: derived from the runs' columns (see module docstring)
    mark_columns: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()  # further mean ± std columns after the conditions
    scale: int | None = None  # SR scale of the conditions; None for denoising
    metrics: tuple[str, ...] = METRICS


def _sigmas(*sigmas: int) -> tuple[str, ...]:
    return tuple(mn.denoise_condition(s) for s in sigmas)


def _sr(scale: int, *sets: str) -> tuple[str, ...]:
    return tuple(mn.sr_condition(s, scale) for s in sets)


_LWAS_ROWS = (Row("rsws", "RSWS N=30", ("-", "-")), Row("basic", "HiNAS", ("no", "no")),
              Row("lwas", "HiNAS", ("yes", "no")), Row("resl", "HiNAS", ("no", "yes")),
              Row("lwas_resl", "HiNAS", ("yes", "yes")))
_WIDTH_ROWS = (Row("ws", "HiNAS-ws"), Row("w40", "HiNAS-w40"), Row("wm", "HiNAS-wm"))
_SSIM_ROWS = (Row("mse", "HiNAS* (MSE)"), Row("mse_ssim", "HiNAS** (MSE + l_ssim)"))
_SHARING_ROWS = (Row("eq6", "HiNAS", ("no",)), Row("eq5", "HiNAS", ("yes",)))
_COST = (mn.SEARCH_GPU_HOURS, mn.PEAK_MEMORY_MB)

_LWAS_MARKS, _SHARING_MARKS = ("LWAS", "ResL"), ("cell sharing",)
PAPER_LAYOUTS: dict[tuple[str, str], TableLayout] = {
    ("lwas", "denoise"): TableLayout(
        "table1", "lwas", "denoise", "Effects of LWAS and ResL, denoising (Table 1)", _LWAS_ROWS,
        _sigmas(30, 50, 70), _LWAS_MARKS),
    ("lwas", "sr"): TableLayout(
        "table2", "lwas", "sr", "Effects of LWAS and ResL, x4 SR (Table 2)", _LWAS_ROWS,
        _sr(4, "set5", "set14", "bsd100", "urban100"), _LWAS_MARKS, scale=4),
    ("width", "denoise"): TableLayout(
        "table3", "width", "denoise", "Width search settings (Table 3)", _WIDTH_ROWS, _sigmas(30)),
    ("ssim", "denoise"): TableLayout(
        "table4", "ssim", "denoise", "Benefit of the l_ssim loss, denoising (Table 4)", _SSIM_ROWS,
        _sigmas(30, 50, 70)),
    ("ssim", "sr"): TableLayout(
        "table5", "ssim", "sr", "Benefit of the l_ssim loss, x4 SR (Table 5)", _SSIM_ROWS,
        _sr(4, "set5", "bsd100", "urban100"), scale=4),
    ("cellsharing", "denoise"): TableLayout(
        "table8", "cellsharing", "denoise", "Cell sharing, denoising (Table 8)", _SHARING_ROWS,
        _sigmas(30, 50, 70), _SHARING_MARKS, _COST),
    ("cellsharing", "sr"): TableLayout(
        "table9", "cellsharing", "sr", "Cell sharing, x2 SR (Table 9)", _SHARING_ROWS,
        _sr(2, "set5", "bsd100", "urban100"), _SHARING_MARKS, _COST, scale=2),
}
_ROWS_BY_ABLATION = {"lwas": (_LWAS_ROWS, _LWAS_MARKS), "width": (_WIDTH_ROWS, ()),
                     "ssim": (_SSIM_ROWS, ()), "cellsharing": (_SHARING_ROWS, _SHARING_MARKS),
                     "lambda": (None, ())}


def layout_for(ablation: str, task: str) -> TableLayout:
    """The paper's layout for (ablation, task); where the paper has none, the ablation's rows with conditions
    derived from the runs (e.g. width for SR, lambda for either task)."""
    if (ablation, task) in PAPER_LAYOUTS:
        return PAPER_LAYOUTS[(ablation, task)]
    if ablation not in _ROWS_BY_ABLATION:
        raise KeyError(f"unknown ablation {ablation!r}; known: {sorted(_ROWS_BY_ABLATION)}")
    rows, marks = _ROWS_BY_ABLATION[ablation]
    extras = _COST if ablation == "cellsharing" else ()
    title = f"Ablation '{ablation}', {task}"
    return TableLayout(f"{ablation}_{task}", ablation, task, title, rows, (), marks, extras)


# --- resolving a layout against the runs -------------------------------------------------------------------
def resolve(layout: TableLayout, runs: pd.DataFrame) -> TableLayout:
    """The layout with concrete rows and conditions for these runs (see the module docstring)."""
    selected = select_runs(runs, layout, finished_only=False)
    conditions = _conditions(layout, runs.columns)
    title = layout.title
    if layout.conditions and conditions != layout.conditions:
        title += " [conditions from the runs, not the paper's]"
    return replace(layout, rows=_rows(layout, selected), conditions=conditions, title=title)


def _rows(layout: TableLayout, runs: pd.DataFrame) -> tuple[Row, ...]:
    """The layout's rows, then any setting the runs have that the layout does not know (never dropped)."""
    known = layout.rows if layout.rows is not None else ()
    seen = {row.setting for row in known}
    others = sorted((s for s in runs.get(mn.TAG_SETTING, pd.Series(dtype=object)).dropna().unique()
                     if s not in seen), key=_setting_order)
    blank = ("",) * len(layout.mark_columns)
    return known + tuple(Row(s, _setting_label(s), blank) for s in others)


def _setting_order(setting: str) -> tuple[float, str]:
    match = re.fullmatch(r"lam(.+)", setting)
    try:
        return (float(match.group(1)) if match else np.inf, setting)
    except ValueError:
        return (np.inf, setting)


def _setting_label(setting: str) -> str:
    match = re.fullmatch(r"lam(.+)", setting)
    return f"λ = {match.group(1)}" if match else setting


def _conditions(layout: TableLayout, columns: pd.Index) -> tuple[str, ...]:
    present = conditions_in(columns)
    if any(c in present for c in layout.conditions):
        return layout.conditions
    if layout.task == "denoise":
        return tuple(sorted((c for c in present if sigma_of(c) is not None), key=sigma_of))
    sr = [c for c in present if scale_of(c) is not None]
    if layout.scale is not None and any(scale_of(c) == layout.scale for c in sr):
        sr = [c for c in sr if scale_of(c) == layout.scale]
    return tuple(sorted(sr, key=_sr_order))


def _sr_order(condition: str) -> tuple[int, int, str]:
    test_set = condition.rsplit("_x", 1)[0]
    rank = SR_TEST_SETS.index(test_set) if test_set in SR_TEST_SETS else len(SR_TEST_SETS)
    return (scale_of(condition) or 0, rank, test_set)


def select_runs(runs: pd.DataFrame, layout: TableLayout, finished_only: bool = True) -> pd.DataFrame:
    """Runs of the layout's ablation and task (where those tags exist), finished, latest run per seed."""
    keep = pd.Series(True, index=runs.index)
    for tag, value in ((mn.TAG_ABLATION, layout.ablation), (mn.TAG_TASK, layout.task)):
        if tag in runs.columns:
            keep &= runs[tag] == value
    if finished_only and "status" in runs.columns:
        keep &= runs["status"] == FINISHED
    chosen = runs[keep.fillna(False).astype(bool)]
    if "start_time" in chosen.columns:
        chosen = chosen.sort_values("start_time", kind="stable")
    if {mn.TAG_SETTING, mn.TAG_SEED} <= set(chosen.columns):
        chosen = chosen.drop_duplicates([mn.TAG_SETTING, mn.TAG_SEED], keep="last")
    return chosen


# --- the summary -------------------------------------------------------------------------------------------
def value_columns(layout: TableLayout) -> list[str]:
    """Run-frame columns summarised as mean ± std, in display order."""
    per_condition = [f"{metric}_{c}" for c in layout.conditions for metric in layout.metrics]
    return per_condition + list(layout.extras)


def summarize(runs: pd.DataFrame, layout: TableLayout, expected_seeds: int = 3) -> pd.DataFrame:
    """The summary frame of ``runs`` in ``layout`` (resolved first); see the module docstring."""
    layout = resolve(layout, runs)
    chosen = select_runs(runs, layout)
    values = value_columns(layout)
    data = chosen.reindex(columns=[mn.TAG_SETTING, mn.PARAMS_M, *values]).astype({c: "float64" for c in
                                                                                  [mn.PARAMS_M, *values]})
    grouped = data.groupby(mn.TAG_SETTING, sort=False)
    stats = grouped[values].agg(["mean", "std"])
    stats.columns = [f"{column}_{stat}" for column, stat in stats.columns]
    params = grouped[mn.PARAMS_M].agg(params_min="min", params_max="max", params_mean="mean")
    counts = grouped.size().rename("n")
    body = pd.concat([counts, params, stats], axis=1).reindex([row.setting for row in layout.rows])
    body["n"] = body["n"].fillna(0).astype("int64")
    rows = layout.rows
    head = pd.DataFrame({"setting": [r.setting for r in rows], "label": [r.label for r in rows]})
    for i, column in enumerate(layout.mark_columns):
        head[column] = [r.marks[i] if i < len(r.marks) else "" for r in layout.rows]
    head["n"] = body["n"].to_numpy()
    head["complete"] = head["n"] >= expected_seeds
    summary = pd.concat([head, body.drop(columns="n").reset_index(drop=True)], axis=1)
    summary.attrs.update(table_id=layout.table_id, expected_seeds=expected_seeds)
    return summary


def caption(layout: TableLayout, expected_seeds: int) -> str:
    return (f"{layout.title}. Cells: mean ± sample std (ddof=1) over the n finished seeds; params: min-max "
            f"over seeds, in M. † fewer than {expected_seeds} finished seeds (or none).")


def condition_label(condition: str) -> str:
    """'sigma30' -> 'σ=30', 'set5_x4' -> 'Set5 ×4', 'builtin_x4' -> 'built-in ×4'."""
    sigma = sigma_of(condition)
    if sigma is not None:
        return f"σ={sigma}"
    test_set, _, scale = condition.rpartition("_x")
    return f"{TEST_SET_LABELS.get(test_set, test_set)} ×{scale}" if test_set else condition
