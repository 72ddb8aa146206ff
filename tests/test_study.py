"""The study (issue 29): rows from the registries, every search tested against its space's random row, the
command's dry run, and the checklist answered from what runs record."""

import pandas as pd
import pytest
from helpers_pipeline import cli

from analysis.checklist import NOT_RECORDED, checklist
from analysis.load import tidy
from orchestrator.experiments.study import study, study_rows
from orchestrator.results import layout as layout_for
from search_space import SPACES
from trials import metric_names as mn
from trials.methods import METHODS


@pytest.mark.parametrize(("task", "expected"), [
    ("denoise", {("hinas", "hinas"), ("hinas", "rsws"), ("hinas", "random_arch")}),
    ("sr", {("hinas", "hinas"), ("hinas", "rsws"), ("hinas", "random_arch"), ("dlsr", "dlsr"), ("dlsr", "rsws"),
            ("dlsr", "random_arch")}),
    ("derain", {("autoderain", "mdarts"), ("autoderain", "darts"), ("autoderain", "rsws"),
                ("autoderain", "random_arch")}),
])
def test_the_study_runs_every_system_serving_the_task_with_rsws_and_random_on_its_space(task, expected):
    rows = study_rows(task)
    assert set(rows) == expected and len(rows) == len(expected)
    assert all(METHODS.get(m).requires <= SPACES.get(s).capabilities for s, m in rows)
    settings = study(task).settings
    assert all(s.overrides["space.name"] == s.name.split("-")[0] for s in settings)
    layout = layout_for("study", task)
    for row in layout.rows:  # every row but the random ones is tested against its own space's random row
        space = row.setting.split("-")[0]
        assert row.compare_with == (None if row.setting.endswith("-random_arch") else f"{space}-random_arch")


def test_study_dry_run_lists_the_rows_and_study_needs_a_task():
    listed = cli("study", "--task", "sr", "--seeds", "0", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    rows = ("hinas-hinas", "dlsr-random_arch", "hinas-random_arch", "dlsr-rsws")
    assert all(f"setting={s}" in listed.stdout for s in rows)
    assert listed.stdout.count("task.scales=2,3,4") == 6  # one protocol: the same scales for every row
    missing = cli("study", "--dry-run")
    assert missing.returncode == 2 and "study needs --task" in missing.stderr


def _runs() -> pd.DataFrame:
    common = {mn.TAG_ABLATION: "study", mn.TAG_TASK: "denoise", mn.TAG_PROTOCOL: "psnr on y", mn.TAG_SPACE: "hinas",
              mn.TAG_HARDWARE: "AMD EPYC", mn.TAG_DEVICE_HOURS_UNIT: "cpu-core", mn.TAG_TORCH_VERSION: "2.13.0",
              mn.TAG_CUDA_VERSION: "none", mn.TAG_DETERMINISM: "deterministic=False", mn.TAG_DATA: "train builtin",
              mn.TAG_COMMIT: "abc123", "status": "FINISHED", mn.PARAMS_M: 0.1}
    roles = {"random_arch": mn.BASELINE_RANDOM_ARCHITECTURE, "rsws": mn.BASELINE_RANDOM_SEARCH}
    return tidy([common | {"run_id": f"{s}{seed}", mn.TAG_SETTING: f"hinas-{s}", mn.TAG_METHOD: s,
                           **({mn.TAG_BASELINE: roles[s]} if s in roles else {}),
                           mn.TAG_SEED: str(seed), mn.psnr("sigma30"): 25.0 + seed, mn.ssim("sigma30"): 0.7,
                           mn.SEARCH_DEVICE_HOURS: 0.01, mn.RETRAIN_DEVICE_HOURS: 0.02,
                           "start_time": 60_000 * seed, "end_time": 60_000 * (5 + seed)}  # ms, as MLflow
                 for s in ("hinas", "rsws", "random_arch") for seed in (0, 1)])


def test_the_checklist_answers_each_item_from_the_runs():
    items = dict(checklist(_runs(), layout_for("study", "denoise"), {"command": "python -m orchestrator study"}))
    assert items["Code released, and the version that ran"] == "this tool at commit abc123"
    assert items["Same evaluation protocol for every method"] == "one for all runs: psnr on y"
    assert items["Random-architecture baseline"].startswith("yes: hinas-random_arch")
    assert items["Seeds (independent runs) per row"] == "the same seeds for every row: 0, 1"
    assert items["Hyperparameter optimisation"].startswith("none")
    assert "cpu-core-hours" in items["Search and retraining cost"]
    assert items["End-to-end time"].startswith("6.0 min")
    assert items["Software versions"] == "torch 2.13.0; CUDA none"
    mixed = _runs()
    mixed.loc[0, mn.TAG_PROTOCOL] = "psnr on rgb"
    bare = mixed.drop(columns=[mn.TAG_HARDWARE])
    answers = dict(checklist(bare, layout_for("study", "denoise")))
    assert answers["Same evaluation protocol for every method"].startswith("2 different protocols")
    assert answers["Hardware"] == NOT_RECORDED and answers["Hyperparameter optimisation"] == NOT_RECORDED
