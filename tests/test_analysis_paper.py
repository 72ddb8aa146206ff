"""The transcribed paper numbers and the side-by-side comparison."""

import pandas as pd
import pytest

from analysis.api import table
from analysis.load import tidy
from analysis.paper import compare_with_paper, paper_numbers, paper_table
from orchestrator.experiments.hinas import PAPER_NUMBERS, PAPER_TABLES
from orchestrator.results import layout as layout_for
from trials import metric_names as mn

# hinas-spec section 11, Table 1: PSNR/SSIM at sigma 30 / 50 / 70
SPEC_TABLE1 = {
    "rsws": (28.93, 0.8344, 26.60, 0.7583, 25.31, 0.7003),
    "basic": (29.15, 0.8386, 26.70, 0.7591, 25.39, 0.7024),
    "lwas": (29.17, 0.8399, 26.78, 0.7616, 25.42, 0.7062),
    "resl": (29.20, 0.8407, 26.80, 0.7622, 25.39, 0.7065),
    "lwas_resl": (29.23, 0.8411, 26.81, 0.7649, 25.43, 0.7069),
}


def test_table1_matches_the_spec():
    numbers = paper_table("table1", PAPER_NUMBERS).set_index(["setting", "condition", "metric"])["mean"]
    for setting, values in SPEC_TABLE1.items():
        got = [numbers[(setting, f"sigma{s}", m)] for s in (30, 50, 70) for m in ("psnr", "ssim")]
        assert got == pytest.approx(values, abs=1e-9), setting
    assert paper_table("table1", PAPER_NUMBERS).set_index(["setting", "condition", "metric"]).loc[
        ("resl", "sigma70", "psnr"), "std"] == pytest.approx(0.0238)


def test_every_paper_table_has_its_layout_settings_and_conditions():
    numbers = paper_numbers(PAPER_NUMBERS)
    assert set(numbers["table"]) == {"table1", "table2", "table3", "table4", "table5", "table8", "table9"}
    for layout in (layout_for(ablation, task) for ablation, task in PAPER_TABLES):
        rows = numbers[numbers["table"] == layout.table_id]
        for row in layout.rows:
            mine = rows[(rows.setting == row.setting) & rows.metric.isin(["psnr", "ssim"])]
            conditions = set(mine.condition)
            assert conditions == set(layout.conditions), (layout.table_id, row.setting)
    params = numbers[(numbers.table == "table2") & (numbers.metric == "params_m")].set_index("setting")
    assert (params.loc["basic", "min"], params.loc["basic", "max"]) == (0.28, 0.29)
    hours = numbers[(numbers.table == "table8") & (numbers.metric == mn.SEARCH_GPU_HOURS)]
    hours = hours.set_index("setting")
    assert (hours.loc["eq6", "mean"], hours.loc["eq5", "mean"]) == (3.6, 1.0)


def test_comparison_puts_ours_paper_and_difference_side_by_side():
    records = [{"run_id": str(seed), "status": "FINISHED", mn.TAG_ABLATION: "lwas", mn.TAG_TASK: "denoise",
                mn.TAG_SETTING: "basic", mn.TAG_SEED: str(seed), mn.PARAMS_M: 0.3,
                mn.psnr("sigma30"): 29.0 + seed / 10, mn.ssim("sigma30"): 0.84} for seed in range(3)]
    summary, layout = table(tidy(records), layout_for("lwas", "denoise"))
    view = compare_with_paper(summary, layout).set_index(["setting", "condition", "metric"])
    row = view.loc[("basic", "sigma30", "psnr")]
    assert row.ours_mean == pytest.approx(29.1) and row.paper_mean == 29.15
    assert row["diff"] == pytest.approx(29.1 - 29.15)
    assert pd.isna(view.loc[("resl", "sigma30", "psnr"), "ours_mean"])  # no runs: ours empty, paper kept
    assert view.loc[("resl", "sigma30", "psnr"), "paper_mean"] == 29.20
