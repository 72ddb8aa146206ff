"""Is a difference real? The Welch p-values of the summary against scipy, the markers they put in the cells,
and the rows that must never be tested."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import render
from analysis.load import tidy
from analysis.significance import marker, welch_p
from analysis.synthetic import synthetic_runs
from analysis.tables import Row, compared_pairs, resolve, significance_tests, summarize, value_columns
from orchestrator.results import layout as layout_for
from trials import metric_names as mn


def _empty_frame(layout) -> pd.DataFrame:
    return pd.DataFrame(columns=[mn.psnr(c) for c in layout.conditions])


@pytest.fixture(scope="module")
def lwas():
    """Table 1 layout and 5 settings x 4 seeds of synthetic runs (settings 0.03 dB apart, 0.05 dB noise)."""
    layout = resolve(layout_for("lwas", "denoise"), _empty_frame(layout_for("lwas", "denoise")))
    return layout, synthetic_runs(20, layout, seed=3)


def test_every_p_value_is_scipys_welch_test_over_the_seeds(lwas):
    layout, runs = lwas
    summary = summarize(runs, layout).set_index("setting")
    pairs = {"rsws": "lwas_resl", "lwas": "basic", "resl": "basic", "lwas_resl": "basic"}
    assert summary["compare_with"].dropna().to_dict() == pairs
    for setting, baseline in pairs.items():
        for column in value_columns(layout):
            ours = runs.loc[runs.setting == setting, column].to_numpy()
            theirs = runs.loc[runs.setting == baseline, column].to_numpy()
            expected = stats.ttest_ind(ours, theirs, equal_var=False).pvalue
            assert summary.loc[setting, f"{column}_p"] == pytest.approx(expected, rel=1e-12)
    assert summary.loc["basic", [f"{c}_p" for c in value_columns(layout)]].isna().all()  # compared with none


def test_a_marker_appears_exactly_where_p_is_below_005(lwas):
    layout, runs = lwas
    summary = summarize(runs, layout)
    cells = render.text_rows(summary, layout)
    lead = 1 + len(layout.mark_columns) + 2
    seen = set()
    for (_, row), texts in zip(summary.iterrows(), cells, strict=True):
        for column, text in zip(value_columns(layout), texts[lead:], strict=True):
            p = row[f"{column}_p"]
            expected = "**" if p < 0.01 else "*" if p < 0.05 else ""
            assert text.endswith(expected) and (expected == "**" or not text.endswith("**"))
            assert expected or not text.endswith("*")
            seen.add(expected)
    assert seen == {"", "*", "**"}, "the synthetic runs should give every marker at least once"
    tex = render.to_latex(summary, layout)
    assert "^{**}" in tex and "^{*}" in tex and "Welch" in render.to_markdown(summary, layout)


def test_one_seed_gives_nan_and_no_marker(lwas):
    layout, runs = lwas
    one_seed = runs[(runs.setting != "lwas") | (runs.seed == 0)]
    summary = summarize(one_seed, layout).set_index("setting")
    assert summary.loc["lwas", [f"{c}_p" for c in value_columns(layout)]].isna().all()
    assert summary.loc["resl", [f"{c}_p" for c in value_columns(layout)]].notna().all()
    lwas_cells = render.text_rows(summary.reset_index(), layout)[2]
    assert not any(cell.endswith("*") for cell in lwas_cells)


def test_undefined_tests_are_nan():
    assert np.isnan(welch_p(np.array([1.0, 1.0]), np.array([2.0, 2.0])))  # no spread on either side
    assert np.isnan(welch_p(np.array([1.0, np.nan]), np.array([2.0, 2.1])))  # one finite value
    assert welch_p(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.1, 1.9])) < 0.01  # one constant side: defined
    assert marker(np.nan) == "" and marker(0.049) == "*" and marker(0.0099) == "**" and marker(0.05) == ""


def test_reference_rows_are_never_tested(lwas):
    layout, runs = lwas
    references = tidy([{**r, mn.TAG_SETTING: "reference-noisy", "run_id": f"ref{i}", mn.TAG_REFERENCE: "noisy"}
                       for i, r in enumerate(runs[runs.setting == "basic"].to_dict("records"))])
    both = pd.concat([runs, references], ignore_index=True)
    summary = summarize(both, layout_for("lwas", "denoise")).set_index("setting")
    assert summary.loc["reference-noisy", [f"{c}_p" for c in value_columns(layout)]].isna().all()
    assert pd.isna(summary.loc["reference-noisy", "compare_with"])
    rows = (Row("a", "A", compare_with="reference-noisy"), Row("reference-noisy", "noisy", compare_with="a"),
            Row("b", "B", compare_with="a"))
    assert compared_pairs(rows) == {"b": "a"}


def test_sweep_rows_are_tested_against_lambda_zero_when_it_ran():
    sweep = layout_for("lambda", "denoise")
    base = resolve(layout_for("lwas", "denoise"), _empty_frame(layout_for("lwas", "denoise")))
    runs = synthetic_runs(12, base, seed=1).assign(ablation="lambda")
    runs["setting"] = runs["setting"].map({"rsws": "lam0", "basic": "lam0.3", "lwas": "lam0.6",
                                           "resl": "lam1", "lwas_resl": "lam1"})
    with_zero = summarize(runs, sweep).set_index("setting")["compare_with"].fillna("none")
    assert with_zero.to_dict() == {"lam0": "none", "lam0.3": "lam0", "lam0.6": "lam0", "lam1": "lam0"}
    without_zero = summarize(runs[runs.setting != "lam0"], sweep)["compare_with"]
    assert without_zero.isna().all()


def test_the_report_frame_gives_differences_and_seeds_per_side(lwas):
    layout, runs = lwas
    tests = significance_tests(runs[(runs.setting != "basic") | (runs.seed < 3)], layout)
    row = tests[(tests.setting == "lwas") & (tests.column == mn.psnr("sigma30"))].iloc[0]
    lwas_values = runs.loc[runs.setting == "lwas", mn.psnr("sigma30")]
    basic_values = runs.loc[(runs.setting == "basic") & (runs.seed < 3), mn.psnr("sigma30")]
    assert row["diff"] == pytest.approx(lwas_values.mean() - basic_values.mean())
    assert (row["n"], row["compare_n"], row["compare_with"]) == (4, 3, "basic")
