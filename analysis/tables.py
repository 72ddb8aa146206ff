"""Tables as data: a ``TableLayout`` (given by the orchestrator's experiments) and pure runs -> summary functions.

Summary frame (one row per layout row, in the layout's order): ``setting, label, <mark columns>, n,
complete, params_min, params_max, params_mean`` and, per value column ``c`` (``psnr_sigma30``,
``search_gpu_hours``, ...), ``c_mean``, ``c_std`` and ``c_p``; then ``compare_with``. Cells are mean and
*sample* std (ddof=1, NaN with one seed) over the finished runs of a setting, one run per seed (the latest when
a seed ran twice); params are min-max over seeds. ``complete`` is False when fewer than ``expected_seeds``
seeds finished; a setting without runs is kept as an empty row.

Significance: ``c_p`` is the Welch t-test p-value (``analysis.significance``) of the row's per-seed values of
``c`` against those of the row named by its ``Row.compare_with`` (the ``compare_with`` column; None when the
row is not tested). NaN for untested rows, fewer than 2 seeds a side, or no spread on both sides. Reference
rows are never tested nor tested against. Derived rows (a sweep's) are tested against the layout's
``compare_derived_with`` when the runs have that setting.

Best: ``<c>_best`` (``params_best``) marks the row with the best mean of ``c`` where its seeds beat the
runner-up's beyond seed noise (Welch p < 0.05); never a best within noise or untestable.

Improvement over random: where a row is compared with a random-architecture row (runs tagged
``baseline=random-architecture``), ``<psnr column>_ri_mean`` / ``_ri_std`` hold Yang et al.'s RI in %
(``improvement_columns``).

Below the input: ``<metric>_<cond>_below_input`` (after ``compare_with``) is True where a searched row's mean
PSNR or SSIM is below the degraded input's reference row (noisy image, bicubic upscaling, rainy image): the
network does worse than not restoring at all, which is a budget or training problem, not a ranking. The input
row is the reference whose runs are tagged with the input role; runs logged before that tag existed have none,
and then it is the first reference row (every task lists its input first). ``summary.attrs["input_row"]``
holds its label.

Conditions: a layout lists the paper's conditions. When the runs have none of them (e.g. the built-in data,
whose test set is 'builtin'), ``resolve`` derives them from the ``psnr_<cond>`` columns the layout's task
can parse (``parse_condition``): ordered by condition value, then benchmark order, then name; only the
layout's fixed ``condition`` (e.g. x4) when it has one and the runs have it. When some are present, all the
paper's stay (missing ones show as empty columns rather than vanishing).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.schema import FINISHED, PARAM_PREFIX, conditions_in
from analysis.significance import SIGNIFICANT, marker_legend, seed_tests, welch_p
from trials import metric_names as mn
from trials.data.kinds import set_rank

METRICS = ("psnr", "ssim")
HIGHER_IS_BETTER = ("psnr", "ssim")  # value columns by their first word; every other (params, time) is lower
EXTRA_LABELS = {mn.SEARCH_GPU_HOURS: "Search GPU h", mn.PEAK_MEMORY_MB: "Peak mem. (MB)",
                mn.SEARCH_TIME_S: "Search time (s)", mn.RETRAIN_TIME_S: "Retrain time (s)",
                mn.INFERENCE_MS: "Inference (ms)", mn.MULT_ADDS_G: "Mult-Adds (G)", mn.LATENCY_MS: "Latency (ms)",
                mn.SEARCH_DEVICE_HOURS: "Search device-h", mn.RETRAIN_DEVICE_HOURS: "Retrain device-h"}
ParseCondition = Callable[[str], tuple[str | None, int] | None]  # 'set5_x4' -> ('set5', 4); None: not one


@dataclass(frozen=True)
class Row:
    setting: str  # the setting tag the runs carry
    label: str  # what the paper calls the row
    marks: tuple[str, ...] = ()  # one value per TableLayout.mark_columns
    compare_with: str | None = None  # the setting whose seeds this row's are tested against (significance)


def _no_condition(condition: str) -> None:
    return None


def _plain_setting(setting: str) -> tuple[float, str]:
    return (np.inf, setting)


@dataclass(frozen=True)
class TableLayout:
    table_id: str  # 'table1', or '<ablation>_<task>' where the paper has no table
    ablation: str
    task: str
    title: str
    rows: tuple[Row, ...] | None  # None: one row per setting in the runs (e.g. a lambda sweep)
    conditions: tuple[str, ...] = ()  # empty: derived from the runs' columns (see module docstring)
    mark_columns: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()  # further mean ± std columns after the conditions
    condition: int | None = None  # the one condition value (e.g. scale 4) of a paper table, if it fixes one
    metrics: tuple[str, ...] = METRICS
    parse_condition: ParseCondition = _no_condition  # the task's reading of a metric condition
    label_condition: Callable[[str], str] = str  # the task's header for a metric condition
    paper_numbers: Path | None = None  # the paper's numbers (analysis.paper), None where there are none
    # a setting the rows do not list (a sweep's): its (sort key, label), e.g. 'lam0.3' -> (0.3, 'λ = 0.3')
    describe_setting: Callable[[str], tuple[float, str]] = _plain_setting
    compare_derived_with: str | None = None  # the setting derived rows are tested against, e.g. 'lam0'

    def with_extras(self, extras: Iterable[str]) -> "TableLayout":
        """The layout with these further columns after its own (each once), e.g. the cost columns."""
        return replace(self, extras=tuple(dict.fromkeys((*self.extras, *extras))))

    def only(self, settings: Iterable[str] | None) -> "TableLayout":
        """The layout with only the rows of ``settings`` (an invocation's ``--settings``; None: all rows), so
        a setting that was never asked for is no empty row, while an asked-for one without runs stays a † row."""
        if settings is None or self.rows is None:
            return self
        wanted = set(settings)
        return replace(self, rows=tuple(row for row in self.rows if row.setting in wanted))


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
    """The layout's rows, then any setting the runs have that the layout does not know (never dropped), then
    the reference rows (trials/references.py: degraded input, classical method), labelled as references."""
    known = layout.rows if layout.rows is not None else ()
    seen = {row.setting for row in known}
    present = runs.get(mn.TAG_SETTING, pd.Series(dtype=object)).dropna().unique()
    references = _in_logging_order(runs, [s for s in present if is_reference(s) and s not in seen])
    others = sorted((s for s in present if s not in seen and s not in references),
                    key=lambda s: (layout.describe_setting(s)[0], s))
    blank = ("",) * len(layout.mark_columns)
    baseline = layout.compare_derived_with if layout.compare_derived_with in set(present) else None
    derived = tuple(Row(s, layout.describe_setting(s)[1], blank, None if s == baseline else baseline)
                    for s in others)
    return (known + derived
            + tuple(Row(s, f"{_reference_label(runs, s)} (reference)", blank) for s in references))


def _in_logging_order(runs: pd.DataFrame, settings: list[str]) -> list[str]:
    """The task lists its references input first; the runs were logged in that order."""
    if "start_time" not in runs.columns:
        return sorted(settings)
    first = runs[runs[mn.TAG_SETTING].isin(settings)].groupby(mn.TAG_SETTING)["start_time"].min()
    return sorted(settings, key=lambda s: (first.get(s), s))


def _reference_label(runs: pd.DataFrame, setting: str) -> str:
    labels = runs.loc[runs[mn.TAG_SETTING] == setting].get(mn.TAG_REFERENCE, pd.Series(dtype=object)).dropna()
    return str(labels.iloc[-1]) if len(labels) else setting.removeprefix(mn.REFERENCE_PREFIX)


def _conditions(layout: TableLayout, columns: pd.Index) -> tuple[str, ...]:
    present = conditions_in(columns)
    if any(c in present for c in layout.conditions):
        return layout.conditions
    parsed = {c: layout.parse_condition(c) for c in present}
    ours = [c for c, p in parsed.items() if p is not None]
    if layout.condition is not None and any(parsed[c][1] == layout.condition for c in ours):
        ours = [c for c in ours if parsed[c][1] == layout.condition]
    return tuple(sorted(ours, key=lambda c: _order(*parsed[c])))


def _order(test_set: str | None, value: int) -> tuple[int, int, str]:
    return (value, set_rank(test_set), test_set or "")


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
    return metric_columns(layout) + list(layout.extras)


def metric_columns(layout: TableLayout) -> list[str]:
    """The PSNR/SSIM columns, one per metric and condition."""
    return [f"{metric}_{c}" for c in layout.conditions for metric in layout.metrics]


def summarize(runs: pd.DataFrame, layout: TableLayout, expected_seeds: int = 3) -> pd.DataFrame:
    """The summary frame of ``runs`` in ``layout`` (resolved first); see the module docstring."""
    layout = resolve(layout, runs)
    chosen = select_runs(runs, layout)
    values = value_columns(layout)
    data = chosen.reindex(columns=[mn.TAG_SETTING, mn.PARAMS_M, *values]).astype({c: "float64" for c in
                                                                                  [mn.PARAMS_M, *values]})
    grouped = data.groupby(mn.TAG_SETTING, sort=False)
    counts = grouped.size().rename("n")
    stats = grouped[values].agg(["mean", "std"]) if values else pd.DataFrame(index=counts.index)  # none finished
    stats.columns = [f"{column}_{stat}" for column, stat in stats.columns]
    stats = _with_p_values(stats, _tests(data, layout, values), values)
    params = grouped[mn.PARAMS_M].agg(params_min="min", params_max="max", params_mean="mean")
    body = pd.concat([counts, params, stats], axis=1).reindex([row.setting for row in layout.rows])
    body["n"] = body["n"].fillna(0).astype("int64")
    rows = layout.rows
    head = pd.DataFrame({"setting": [r.setting for r in rows], "label": [r.label for r in rows]})
    for i, column in enumerate(layout.mark_columns):
        head[column] = [r.marks[i] if i < len(r.marks) else "" for r in layout.rows]
    head["n"] = body["n"].to_numpy()
    head["complete"] = head["n"] >= expected_seeds
    summary = pd.concat([head, body.drop(columns="n").reset_index(drop=True)], axis=1)
    pairs = compared_pairs(rows)
    summary["compare_with"] = [pairs.get(r.setting) for r in rows]
    summary.attrs.update(table_id=layout.table_id, expected_seeds=expected_seeds, protocol=one_protocol(chosen),
                         latency=latency_devices(chosen) if mn.LATENCY_MS in layout.extras else None)
    summary = _with_best_marks(summary, data, [mn.PARAMS_M, *values])
    summary = _with_improvement_over_random(summary, data, random_settings(chosen), metric_columns(layout))
    return _with_below_input(summary, layout, input_row(chosen, rows))


def _mean_column(column: str) -> str:
    return "params_mean" if column == mn.PARAMS_M else f"{column}_mean"


def higher_is_better(column: str) -> bool:
    return column.split("_", 1)[0] in HIGHER_IS_BETTER


def _with_best_marks(summary: pd.DataFrame, data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``<c>_best`` (``params_best`` for params): True on the row with the best mean of ``c`` only where its
    seeds differ from the runner-up's beyond seed noise (Welch p < 0.05); a best within noise, a tie, or a
    best that cannot be tested (one seed a side) gets no mark."""
    seeds = {setting: group for setting, group in data.groupby(mn.TAG_SETTING, sort=False)}
    for column in columns:
        means = summary[_mean_column(column)].astype("float64").dropna()
        ranked = means.sort_values(ascending=not higher_is_better(column), kind="stable")
        flags = pd.Series(False, index=summary.index)
        if len(ranked) >= 2:
            best, runner_up = (summary.at[i, "setting"] for i in ranked.index[:2])
            p = welch_p(seeds[best][column].to_numpy(float), seeds[runner_up][column].to_numpy(float))
            flags[ranked.index[0]] = bool(p < SIGNIFICANT)
        name = "params_best" if column == mn.PARAMS_M else f"{column}_best"
        summary[name] = flags
    return summary


def random_settings(runs: pd.DataFrame) -> set[str]:
    """The settings whose runs are the random-architecture baseline (their ``baseline`` tag)."""
    if mn.TAG_BASELINE not in runs.columns:
        return set()
    return set(runs.loc[runs[mn.TAG_BASELINE] == mn.BASELINE_RANDOM_ARCHITECTURE, mn.TAG_SETTING])


def _with_improvement_over_random(summary: pd.DataFrame, data: pd.DataFrame, randoms: set[str],
                                  columns: list[str]) -> pd.DataFrame:
    """``<psnr column>_ri_mean`` and ``_ri_std`` for rows compared with a random-baseline row: Yang et al.'s
    relative improvement 100 x (PSNR - random's mean) / random's mean, per seed of the row, then mean and
    sample std over those seeds (the random row's own spread is in the Welch test of the PSNR cell)."""
    psnr_columns = [c for c in columns if c.startswith("psnr_")]
    if not randoms or not psnr_columns:
        return summary
    by_setting = {setting: group for setting, group in data.groupby(mn.TAG_SETTING, sort=False)}
    for column in psnr_columns:
        means, stds = [], []
        for setting, baseline in zip(summary["setting"], summary["compare_with"], strict=True):
            if baseline not in randoms or setting not in by_setting or baseline not in by_setting:
                means.append(np.nan), stds.append(np.nan)
                continue
            reference = by_setting[baseline][column].astype("float64").mean()
            ri = 100 * (by_setting[setting][column].astype("float64") - reference) / reference
            means.append(ri.mean()), stds.append(ri.std(ddof=1) if ri.count() > 1 else np.nan)
        summary[f"{column}_ri_mean"], summary[f"{column}_ri_std"] = means, stds
    return summary


def improvement_columns(summary: pd.DataFrame) -> list[str]:
    """The PSNR columns with an improvement over random in this summary (``<c>_ri_mean`` has a value)."""
    return [c.removesuffix("_ri_mean") for c in summary.columns
            if c.endswith("_ri_mean") and summary[c].notna().any()]


def latency_devices(runs: pd.DataFrame) -> str | None:
    """Where the latencies were measured ('cpu, 1 thread'), each device once; None where no run says."""
    devices = runs.get(PARAM_PREFIX + "device_resolved", pd.Series(dtype=object))
    threads = runs.get(PARAM_PREFIX + "torch_threads", pd.Series(dtype=object)).reindex(devices.index)
    found = sorted({f"{d}, {t} thread{'s' if str(t) != '1' else ''}" if pd.notna(t) and str(d) == "cpu" else str(d)
                    for d, t in zip(devices, threads, strict=True) if pd.notna(d)})
    return " / ".join(found) or None


def one_protocol(runs: pd.DataFrame) -> str | None:
    """The evaluation protocol the runs were scored under (their ``protocol`` tag); a ValueError where they
    were scored under several, since their numbers do not compare; None for runs from before the tag."""
    protocols = runs.get(mn.TAG_PROTOCOL, pd.Series(dtype=object)).dropna()
    counts = protocols.value_counts()
    if len(counts) > 1:
        listed = "; ".join(f"{n} run(s): {protocol}" for protocol, n in counts.items())
        raise ValueError(f"this table's runs were scored under {len(counts)} evaluation protocols, whose numbers do "
                         f"not compare ({listed}); rerun the ablation under one protocol, or pick one invocation "
                         f"with --invocation")
    return counts.index[0] if len(counts) else None


def input_row(runs: pd.DataFrame, rows: tuple[Row, ...]) -> str | None:
    """The setting of the degraded input's reference row (see the module docstring), None without one."""
    references = [row.setting for row in rows if is_reference(row.setting)]
    roles = runs.get(mn.TAG_REFERENCE_ROLE, pd.Series(dtype=object))
    if not roles.notna().any():
        return references[0] if references else None
    inputs = set(runs.loc[roles == mn.ROLE_INPUT, mn.TAG_SETTING])
    return next((s for s in references if s in inputs), None)


_TIE = 1e-9  # means closer than this are equal (a mean of equal values differs from them by float rounding)


def _with_below_input(summary: pd.DataFrame, layout: TableLayout, input_setting: str | None) -> pd.DataFrame:
    """``summary`` with a ``<c>_below_input`` flag per PSNR/SSIM column (module docstring)."""
    searched = ~summary["setting"].map(is_reference)
    found = summary.index[summary["setting"] == input_setting]
    for column in metric_columns(layout):
        floor = summary.at[found[0], f"{column}_mean"] if len(found) else np.nan
        mean = summary[f"{column}_mean"]
        summary[f"{column}_below_input"] = searched & (mean < floor - _TIE)
    if len(found):
        summary.attrs["input_row"] = summary.at[found[0], "label"]
    return summary


def _with_p_values(stats: pd.DataFrame, tests: pd.DataFrame, values: list[str]) -> pd.DataFrame:
    """``stats`` with a ``<c>_p`` column after each ``<c>_std`` (NaN for untested settings)."""
    p = tests.pivot(index="setting", columns="column", values="p") if len(tests) else pd.DataFrame()
    p = p.reindex(index=stats.index, columns=values).add_suffix("_p")
    return pd.concat([stats, p], axis=1)[[f"{c}_{s}" for c in values for s in ("mean", "std", "p")]]


def _tests(chosen: pd.DataFrame, layout: TableLayout, values: list[str]) -> pd.DataFrame:
    data = chosen.reindex(columns=[mn.TAG_SETTING, *values]).astype({c: "float64" for c in values})
    return seed_tests(data, compared_pairs(layout.rows), values, mn.TAG_SETTING)


def significance_tests(runs: pd.DataFrame, layout: TableLayout) -> pd.DataFrame:
    """Per tested row and value column: means, difference, Welch p and seeds a side
    (``analysis.significance.seed_tests``), for the runs the summary uses."""
    layout = resolve(layout, runs)
    return _tests(select_runs(runs, layout), layout, value_columns(layout))


def best_seeds(runs: pd.DataFrame, layout: TableLayout) -> pd.DataFrame:
    """Per searched row (references have no architecture), its finished run with the highest mean PSNR over
    the layout's conditions: ``setting, name, seed, run_id`` and the run's other columns; rows without a
    scored run are left out. Ties go to the earlier run."""
    layout = resolve(layout, runs)
    chosen = select_runs(runs, layout)
    psnr = chosen.reindex(columns=[mn.psnr(c) for c in layout.conditions]).astype("float64")
    chosen = chosen.assign(score=psnr.mean(axis=1)).dropna(subset=["score"])
    best = []
    for row in layout.rows:
        group = chosen[chosen[mn.TAG_SETTING] == row.setting]
        if not is_reference(row.setting) and len(group):
            best.append(group.iloc[[int(np.argmax(group["score"].to_numpy()))]].assign(name=row_name(row, layout)))
    return pd.concat(best, ignore_index=True) if best else chosen.iloc[:0].assign(name=pd.Series(dtype=str))


def is_reference(setting: str) -> bool:
    return str(setting).startswith(mn.REFERENCE_PREFIX)


def compared_pairs(rows: tuple[Row, ...]) -> dict[str, str]:
    """Setting -> the setting it is tested against, for rows whose comparison is in the table; references are
    measured, not searched, so they are never tested nor tested against."""
    settings = {row.setting for row in rows}
    return {row.setting: row.compare_with for row in rows
            if row.compare_with in settings and row.compare_with != row.setting
            and not is_reference(row.setting) and not is_reference(row.compare_with)}


def row_name(row: Row, layout: TableLayout) -> str:
    """The label, with its marks when another row shares it: 'HiNAS [LWAS yes, ResL no]'."""
    if sum(other.label == row.label for other in layout.rows) < 2:
        return row.label
    marks = [f"{column} {mark}" for column, mark in zip(layout.mark_columns, row.marks, strict=False)
             if mark not in ("", "-")]
    return f"{row.label} [{', '.join(marks)}]" if marks else row.label


def caption(layout: TableLayout, expected_seeds: int, summary: pd.DataFrame | None = None) -> str:
    """The table's title and legend; with ``summary``, also the note on rows below the degraded input."""
    text = (f"{layout.title}. Cells: mean ± sample std (ddof=1) over the n finished seeds; params: min-max "
            f"over seeds, in M. † fewer than {expected_seeds} finished seeds (or none).")
    text = f"{text} {_significance_note(layout)}" if compared_pairs(layout.rows) else text
    for note in ((below_input_note(summary), improvement_note(summary)) if summary is not None else ()):
        text = f"{text} {note}" if note else text
    latency = summary.attrs.get("latency") if summary is not None else None
    if latency:
        height, width = mn.LATENCY_INPUT
        text += (f" Latency: median ms of {mn.LATENCY_REPEATS} forward passes of a {height}x{width} input, measured "
                 f"on {latency}.")
    protocol = summary.attrs.get("protocol") if summary is not None else None
    return f"{text} Scored: {protocol}." if protocol else text


def below_input_note(summary: pd.DataFrame) -> str:
    """The legend of '↓' when some cell has it, else ''."""
    flags = summary[[c for c in summary.columns if c.endswith("_below_input")]]
    if not flags.to_numpy(dtype=bool).any():
        return ""
    row = summary.attrs.get("input_row", "degraded input")
    return (f"↓ below the {row} row: worse than the degraded input itself, so the cell ranks nothing (the "
            "network had too few training iterations, or its training failed).")


def improvement_note(summary: pd.DataFrame) -> str:
    """The legend of the RI columns and the rows whose PSNR is within seed noise of their random row; ''
    without RI."""
    columns = improvement_columns(summary)
    if not columns:
        return ""
    has_ri = summary[[f"{c}_ri_mean" for c in columns]].notna().any(axis=1)
    p_values = summary.loc[has_ri, [f"{c}_p" for c in columns]].to_numpy(dtype=float)
    within = [label for label, p in zip(summary.loc[has_ri, "label"], p_values, strict=True)
              if not (p < SIGNIFICANT).any()]
    text = ("RI: improvement over the random-architecture row the row is compared with, 100 × (PSNR − random's "
            "mean) / random's mean, in %, mean ± std over the row's seeds (Yang et al., ICLR 2020).")
    if within:
        text += (f" Within seed noise of random (no PSNR column with Welch p < {SIGNIFICANT:g}, or too few seeds "
                 f"to test): {', '.join(within)}.")
    return text


def _significance_note(layout: TableLayout) -> str:
    """Which row each tested row is compared with, grouped by the row compared against."""
    names = {row.setting: row_name(row, layout) for row in layout.rows}
    against: dict[str, list[str]] = {}
    for setting, baseline in compared_pairs(layout.rows).items():
        against.setdefault(baseline, []).append(names[setting])
    groups = "; ".join(f"{', '.join(rows)} against {names[b]}" for b, rows in against.items())
    return (f"{marker_legend()}: the row differs from the row it is compared with beyond seed noise "
            f"(Welch's t-test, two-sided, over the per-seed values; no marker with fewer than 2 seeds a side). "
            f"Compared: {groups}.")


def condition_label(layout: TableLayout, condition: str) -> str:
    """The layout task's header, e.g. 'sigma30' -> 'σ=30', 'set5_x4' -> 'Set5 ×4'."""
    return layout.label_condition(condition)
