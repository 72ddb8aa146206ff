"""Tables from hand-built runs: the numbers in each cell, row/column order, flags, LaTeX and CSV output."""

import re

import numpy as np
import pandas as pd
import pytest

from analysis import render
from analysis.api import table, table_text
from analysis.load import tidy
from analysis.tables import Row, TableLayout, resolve, summarize
from orchestrator.experiments.base import task_layout
from orchestrator.results import layout as layout_for
from trials import metric_names as mn

SIGMAS = ("sigma30", "sigma50", "sigma70")


def _run(setting: str, seed: int, psnr30: float, params: float, ablation: str = "lwas",
         status: str = "FINISHED", task: str = "denoise", start: int = 0, **metrics: float) -> dict:
    record = {"run_id": f"{setting}-{seed}-{start}", "status": status, "start_time": 1000 * start,
              mn.TAG_ABLATION: ablation, mn.TAG_SETTING: setting, mn.TAG_SEED: str(seed), mn.TAG_TASK: task,
              mn.PARAMS_M: params, mn.psnr("sigma30"): psnr30, mn.ssim("sigma30"): psnr30 / 35}
    record.update({mn.psnr("sigma50"): psnr30 - 2.4, mn.ssim("sigma50"): 0.76,
                   mn.psnr("sigma70"): psnr30 - 3.8, mn.ssim("sigma70"): 0.70 + seed / 1000})
    record.update(metrics)
    return record


@pytest.fixture
def runs() -> pd.DataFrame:
    """lwas ablation: 3 seeds everywhere except lwas_resl (2 seeds) and resl (none); plus noise to ignore."""
    return tidy(_lwas_records())


def _lwas_records() -> list[dict]:
    values = {"rsws": [28.9, 29.0, 28.7], "basic": [29.1, 29.2, 29.15], "lwas": [29.3, 29.1, 29.12],
              "lwas_resl": [29.25, 29.21]}
    records = [_run(s, seed, v, 0.2 + 0.01 * seed + 0.05 * i)
               for i, (s, vs) in enumerate(values.items()) for seed, v in enumerate(vs)]
    records += [_run("basic", 5, 10.0, 9.0, status="FAILED"),  # failed: not counted
                _run("basic", 0, 1.0, 9.0, ablation="width"),  # another ablation
                _run("lwas_resl", 1, 20.0, 9.0, start=-5)]  # an older duplicate of seed 1: the later one wins
    return records


def test_each_cell_is_numpy_mean_and_sample_std(runs):
    summary, layout = table(runs, layout_for("lwas", "denoise"))
    finished = runs[(runs.status == "FINISHED") & (runs.ablation == "lwas") & (runs[mn.psnr("sigma30")] > 25)]
    for _, row in summary[summary.n > 0].iterrows():
        group = finished[finished.setting == row.setting]
        for condition in SIGMAS:
            for metric in ("psnr", "ssim"):
                values = group[f"{metric}_{condition}"].to_numpy()
                assert row[f"{metric}_{condition}_mean"] == pytest.approx(np.mean(values), abs=1e-12)
                assert row[f"{metric}_{condition}_std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
        assert row.params_min == pytest.approx(group.params_m.min())
        assert row.params_max == pytest.approx(group.params_m.max())


def test_rows_and_columns_in_paper_order(runs):
    summary, layout = table(runs, layout_for("lwas", "denoise"))
    assert list(summary.setting) == ["rsws", "basic", "lwas", "resl", "lwas_resl"]
    assert list(summary.LWAS) == ["-", "no", "yes", "no", "yes"] and list(summary.ResL) == ["-", "no", "no",
                                                                                          "yes", "yes"]
    means = [c for c in summary.columns if c.endswith("_mean") and c != "params_mean"]
    deploy = [mn.MULT_ADDS_G, mn.LATENCY_MS]  # beyond the paper's columns: what running the network costs
    assert means == [f"{m}_{c}_mean" for c in SIGMAS for m in ("psnr", "ssim")] + [f"{c}_mean" for c in deploy]
    header = render.headers(layout, summary)
    assert header[:5] == ["Method", "LWAS", "ResL", "n", "Params (M)"]
    assert header[5:] == [f"σ={s} {m}" for s in (30, 50, 70) for m in ("PSNR", "SSIM")] + ["Mult-Adds (G)",
                                                                                          "Latency (ms)"]
    sr = layout_for("lwas", "sr")
    assert sr.conditions == ("set5_x4", "set14_x4", "bsd100_x4", "urban100_x4")


def test_missing_seed_and_empty_setting_are_flagged(runs):
    summary, layout = table(runs, layout_for("lwas", "denoise"), expected_seeds=3)
    by = summary.set_index("setting")
    assert by.loc["lwas_resl", "n"] == 2 and not by.loc["lwas_resl", "complete"]
    assert by.loc["resl", "n"] == 0 and not by.loc["resl", "complete"]
    assert np.isnan(by.loc["resl", "psnr_sigma30_mean"]) and np.isnan(by.loc["resl", "params_min"])
    assert by.loc["basic", "n"] == 3 and by.loc["basic", "complete"]
    text = render.to_markdown(summary, layout, 3)
    flagged = [line for line in text.splitlines() if render.DAGGER in line and line.startswith("| HiNAS")]
    assert len(flagged) == 2
    assert "| resl" not in text and render.EMPTY in flagged[0]


def test_a_single_seed_has_no_std(runs):
    one = tidy([_run("basic", 0, 29.0, 0.3)])
    summary, _ = table(one, layout_for("lwas", "denoise"))
    row = summary.set_index("setting").loc["basic"]
    assert row.psnr_sigma30_mean == 29.0 and np.isnan(row.psnr_sigma30_std)


def _braces_balanced(text: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_latex_is_well_formed_and_bolds_a_best_only_beyond_seed_noise(runs):
    summary, layout = table(runs, layout_for("lwas", "denoise"))
    tex = render.to_latex(summary, layout, 3)
    assert _braces_balanced(tex)
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert len(body) == len(layout.rows) == 5
    assert all(line.count("&") == len(render.headers(layout, summary)) - 1 for line in body)
    assert all(line.count("$") % 2 == 0 for line in tex.splitlines())
    assert r"\pm" in tex and "±" not in tex
    # lwas_resl's 29.23 leads lwas's 29.17 by less than its seeds spread (Welch p = 0.6): no bold
    assert summary.psnr_sigma30_mean.idxmax() == 4 and not summary.psnr_sigma30_best.any()
    assert sum(r"\mathbf{" in line.split("&")[5] for line in body) == 0
    assert r"\textbf{" in body[summary.params_mean.idxmin()]  # rsws's params are clearly the fewest: bold
    # one dB clear of every other row, and then bold (only there)
    records = [r | {mn.psnr("sigma30"): r[mn.psnr("sigma30")] + 1} if r[mn.TAG_SETTING] == "lwas_resl" else r
               for r in _lwas_records()]
    summary, layout = table(tidy(records), layout_for("lwas", "denoise"))
    body = render.to_latex(summary, layout, 3).split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert r"\mathbf{30.23}" in body[4] and body[4].startswith(r"HiNAS$^\dagger$ & yes & yes")
    assert sum(r"\mathbf{" in line.split("&")[5] for line in body) == 1
    assert list(summary.psnr_sigma30_best) == [False, False, False, False, True]


def test_csv_round_trips(runs, tmp_path):
    summary, _ = table(runs, layout_for("lwas", "denoise"))
    back = pd.read_csv(render.write_csv(summary, tmp_path / "t.csv"))
    pd.testing.assert_frame_equal(back, summary, check_dtype=False, check_exact=True)
    back = pd.read_parquet(render.write_parquet(summary, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, summary, check_dtype=False, check_exact=True)


def test_lambda_rows_are_sorted_values_and_cost_columns_exist():
    records = [_run(f"lam{lam}", seed, 29.0, 0.3, ablation="lambda") for lam in ("1.0", "0.3", "0", "0.6")
               for seed in range(3)]
    summary, layout = table(tidy(records), layout_for("lambda", "denoise"))
    assert list(summary.setting) == ["lam0", "lam0.3", "lam0.6", "lam1.0"]
    assert list(summary.label)[1] == "λ = 0.3"
    sharing = layout_for("cellsharing", "denoise")
    assert sharing.extras == (mn.SEARCH_GPU_HOURS, mn.PEAK_MEMORY_MB, mn.MULT_ADDS_G, mn.LATENCY_MS)


def test_builtin_sr_conditions_come_from_the_columns():
    records = [_run(s, seed, 29.0, 0.3, task="sr", **{mn.psnr("builtin_x4"): 30.0 + seed,
                                                       mn.ssim("builtin_x4"): 0.9})
               for s in ("basic", "lwas") for seed in range(3)]
    frame = tidy(records).drop(columns=[mn.psnr(c) for c in SIGMAS] + [mn.ssim(c) for c in SIGMAS])
    layout = resolve(layout_for("lwas", "sr"), frame)
    assert layout.conditions == ("builtin_x4",)
    summary = summarize(frame, layout)
    assert summary.set_index("setting").loc["basic", "psnr_builtin_x4_mean"] == pytest.approx(31.0)
    assert "built-in ×4" in table_text(frame, layout_for("lwas", "sr"))


def test_partially_present_paper_conditions_stay_as_empty_columns(runs):
    partial = runs.drop(columns=[mn.psnr("sigma70"), mn.ssim("sigma70")])
    layout = resolve(layout_for("lwas", "denoise"), partial)
    assert layout.conditions == SIGMAS


def test_table_text_formats(runs):
    assert table_text(runs, layout_for("lwas", "denoise"), "csv").startswith("setting,label,LWAS,ResL,n,complete")
    assert r"\begin{tabular}" in table_text(runs, layout_for("lwas", "denoise"), "tex", compare_paper=True)
    compared = table_text(runs, layout_for("lwas", "denoise"), "md", compare_paper=True)
    header, rule, *rows = [line for line in compared.split("PSNR\n\n")[1].splitlines() if line.startswith("|")]
    assert "σ=30" in header and len(rows) >= 5  # beside ours: one row per method, one column per condition
    basic = next(row for row in rows if "[LWAS no, ResL no]" in row)
    ours, paper, diff = (float(v) for v in basic.split("|")[2].split(" / "))
    assert paper == 29.15 and diff == pytest.approx(ours - paper, abs=0.011)
    assert "paper_mean" in table_text(runs, layout_for("lwas", "denoise"), "csv", compare_paper=True)  # long form


def test_the_comparison_carries_the_smoke_caveat_and_says_when_the_paper_has_no_such_cell(runs):
    smoke = runs.assign(**{mn.TAG_PRESET: "smoke"})
    assert "Smoke run" in table_text(smoke, layout_for("lwas", "denoise"), "md", compare_paper=True)
    assert "Smoke run" not in table_text(runs, layout_for("lwas", "denoise"), "md", compare_paper=True)
    renamed = runs.rename(columns={c: c.replace("sigma", "bsd68_sigma") for c in runs.columns if "sigma" in c})
    text = table_text(renamed, layout_for("lwas", "denoise"), "md", compare_paper=True)
    assert "has no PSNR/SSIM at these conditions" in text and " / " not in text


def test_reference_rows_come_last_labelled_as_references_in_logging_order(runs):
    """Reference runs (trials/references.py) are rows after the layout's, in the order they were logged
    (the task lists the degraded input first), with the label their runs carry and no parameter count."""
    extra = []
    for seed in range(3):
        for offset, (name, label) in enumerate((("reference-noisy", "noisy input"), ("reference-nlm", "NLM"))):
            record = _run(name, seed, 18.0 + 8 * offset + seed / 10, np.nan, start=10 + offset)
            extra.append({**record, mn.TAG_REFERENCE: label})
    both = tidy([*runs.to_dict("records"), *extra])
    summary = summarize(both, layout_for("lwas", "denoise"))
    assert list(summary["label"])[-2:] == ["noisy input (reference)", "NLM (reference)"]
    noisy = summary.set_index("setting").loc["reference-noisy"]
    assert noisy["n"] == 3 and noisy[f"{mn.psnr('sigma30')}_mean"] == pytest.approx(18.1)
    assert np.isnan(noisy["params_min"])
    assert "noisy input (reference)" in table_text(both, layout_for("lwas", "denoise"), "md")


def _with_references(references: list[tuple[str, str, float, str | None]]) -> pd.DataFrame:
    """The ``runs`` fixture's runs plus 3 seeds of each (setting, label, PSNR at sigma 30, role tag or None),
    logged in list order."""
    extra = []
    for offset, (setting, label, psnr30, role) in enumerate(references):
        for seed in range(3):
            record = {**_run(setting, seed, psnr30, np.nan, start=10 + offset), mn.TAG_REFERENCE: label}
            extra.append(record | ({mn.TAG_REFERENCE_ROLE: role} if role else {}))
    return tidy([*_lwas_records(), *extra])


def test_cells_below_the_degraded_input_are_flagged_and_the_caption_names_its_row():
    """Rows whose mean is below the input's reference row (not the classical method's) carry '↓' in exactly
    those cells; a tie is not below; references are never flagged."""
    both = _with_references([("reference-noisy", "noisy input", 29.16, mn.ROLE_INPUT),
                                   ("reference-nlm", "NLM", 40.0, mn.ROLE_METHOD)])
    layout = layout_for("lwas", "denoise")
    summary = summarize(both, layout).set_index("setting")
    below = summary[f"{mn.psnr('sigma30')}_below_input"]
    assert sorted(below[below].index) == ["basic", "rsws"]  # 29.15 and 28.87 < 29.16; lwas 29.17 is above
    # SSIM at sigma 50 is 0.76 everywhere: a tie is not below
    assert not summary[f"{mn.ssim('sigma50')}_below_input"].any()
    text = table_text(both, layout, "md")
    assert "↓ below the noisy input (reference) row" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")][1:]  # rows: rsws, basic, ..., nlm
    # RSWS and basic: PSNR at every sigma and SSIM at 30; lwas_resl: SSIM at 70 (its 2 seeds average 0.7005)
    assert [line.count("↓") for line in lines] == [4, 4, 0, 0, 1, 0, 0]
    latex = table_text(both, layout, "tex")
    assert latex.count(r"\,\downarrow") == 9 and r"$\downarrow$ below the noisy input" in latex


def test_runs_without_role_tags_take_the_first_reference_row_as_the_input():
    """Reference runs logged before the role tag existed: the task listed (and logged) its input first."""
    old = _with_references([("reference-noisy", "noisy input", 20.0, None), ("reference-nlm", "NLM", 29.16, None)])
    assert not summarize(old, layout_for("lwas", "denoise"))[f"{mn.psnr('sigma30')}_below_input"].any()
    tagged = _with_references([("reference-nlm", "NLM", 20.0, mn.ROLE_METHOD),
                                     ("reference-noisy", "noisy input", 29.16, mn.ROLE_INPUT)])
    summary = summarize(tagged, layout_for("lwas", "denoise"))
    assert summary.attrs["input_row"] == "noisy input (reference)"
    assert summary[f"{mn.psnr('sigma30')}_below_input"].sum() == 2


def test_a_table_without_reference_rows_flags_nothing(runs):
    summary = summarize(runs, layout_for("lwas", "denoise"))
    assert not summary[[c for c in summary.columns if c.endswith("_below_input")]].to_numpy().any()
    assert "↓" not in table_text(runs, layout_for("lwas", "denoise"), "md")


def test_an_invocation_of_some_settings_shows_only_those_rows_and_compares_nothing_absent(runs):
    """Issue 28: `--settings basic` printed four empty † rows and a caption comparing rows without data."""
    invocation = runs[runs[mn.TAG_SETTING] == "basic"]  # the runs of `--settings basic`
    layout = layout_for("lwas", "denoise").only(["basic"])
    summary, resolved = table(invocation, layout)
    assert list(summary.setting) == ["basic"]
    assert "Compared" not in table_text(invocation, layout, "md")
    assert "Compared" in table_text(runs, layout_for("lwas", "denoise"), "md")
    both = layout_for("lwas", "denoise").only(["basic", "resl"])  # resl was asked for, has no run: a † row
    assert list(table(invocation, both)[0].setting) == ["basic", "resl"]
    whole = layout_for("lwas", "denoise")
    assert whole.only(None) is whole


def test_the_caption_names_where_latency_was_measured(runs):
    measured = runs.assign(**{"param.device_resolved": "cpu", "param.torch_threads": "2"})
    text = table_text(measured, layout_for("lwas", "denoise"), "md")
    assert "Latency: median ms of 5 forward passes of a 256x256 input, measured on cpu, 2 threads." in text
    assert "Latency (ms)" in text
    assert "Latency: median" not in table_text(runs, layout_for("lwas", "denoise"), "md")  # nothing recorded


def _study_records(searched: list[float], random: list[float], rsws: list[float]) -> list[dict]:
    rows = {"hinas-hinas": ("hinas", searched), "hinas-random_arch": ("random_arch", random),
            "hinas-rsws": ("rsws", rsws)}
    role = {mn.TAG_BASELINE: mn.BASELINE_RANDOM_ARCHITECTURE}
    return [_run(setting, seed, value, 0.2, ablation="study", **(role if method == "random_arch" else {}))
            for setting, (method, values) in rows.items() for seed, value in enumerate(values)]


def _study_layout() -> "TableLayout":
    rows = tuple(Row(s, s, compare_with=None if s == "hinas-random_arch" else "hinas-random_arch")
                 for s in ("hinas-hinas", "hinas-rsws", "hinas-random_arch"))
    return task_layout("denoise", table_id="study_denoise", ablation="study", title="Study", rows=rows)


def test_improvement_over_random_is_yang_et_al_ri_per_seed_against_the_random_mean():
    searched, random, rsws = [30.0, 30.2, 30.4], [29.0, 29.1, 28.9], [29.05, 28.95, 29.1]
    summary, layout = table(tidy(_study_records(searched, random, rsws)), _study_layout())
    by = summary.set_index("setting")
    ri = 100 * (np.array(searched) - np.mean(random)) / np.mean(random)
    assert by.loc["hinas-hinas", "psnr_sigma30_ri_mean"] == pytest.approx(ri.mean())
    assert by.loc["hinas-hinas", "psnr_sigma30_ri_std"] == pytest.approx(ri.std(ddof=1))
    assert np.isnan(by.loc["hinas-random_arch", "psnr_sigma30_ri_mean"])  # random is not compared with itself
    text = render.to_markdown(summary, layout, 3)
    assert "RI σ=30 (%)" in text and f"+{ri.mean():.2f} ± {ri.std(ddof=1):.2f}" in text
    # RSWS is within seed noise of random; the searched row is not
    assert re.search(r"Within seed noise of random \([^)]*\): ([^*]*?)\.", text).group(1) == "hinas-rsws"


def test_no_ri_columns_without_a_random_row(runs):
    summary, layout = table(runs, layout_for("lwas", "denoise"))
    assert not [c for c in summary.columns if "_ri_" in c]
    assert "RI " not in render.to_markdown(summary, layout, 3)


def test_cost_columns_are_added_once_after_the_layouts_own(runs):
    layout = layout_for("lwas", "denoise")
    with_cost = layout.with_extras(mn.COST).with_extras(mn.COST)
    assert with_cost.extras == (*layout.extras, *mn.COST)
    records = [r | {mn.SEARCH_DEVICE_HOURS: 0.5, mn.RETRAIN_DEVICE_HOURS: 0.25} for r in _lwas_records()]
    summary, resolved = table(tidy(records), with_cost)
    assert render.headers(resolved, summary)[-2:] == ["Search device-h", "Retrain device-h"]
    assert summary.set_index("setting").loc["basic", "search_device_hours_mean"] == 0.5
