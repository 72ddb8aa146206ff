"""What was written before the registries still reads: MLflow runs (old param names, no space tag) in `table`
and `report`, genotype files (tests/test_search_space.py), and an old run folder is refused for resuming with
a clear message instead of being mixed with a new config."""

import json
import re
from pathlib import Path

import pytest
from helpers_pipeline import pipeline_config
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from orchestrator.cli import main
from orchestrator.tracking import PARENT_TAG
from trials.config import config_differences, to_json
from trials.pipeline import run_trial

GOLDEN = Path(__file__).with_name("golden")
OLD_CONFIG = json.loads((GOLDEN / "denoise-hinas" / "config.json").read_text())  # written at commit 2e148c0
OLD_METRICS = json.loads((GOLDEN / "denoise-hinas" / "metrics.json").read_text())


def flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
    return out


@pytest.fixture
def old_store(tmp_path, monkeypatch) -> Path:
    """An ablation logged as the code before the registries logged it: same tags, old param names."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    client = MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    exp = client.create_experiment("hinas-lwas-denoise")
    parent = client.create_run(exp, tags={"ablation": "lwas", "task": "denoise"}).info.run_id
    for setting in ("basic", "lwas_resl"):
        for seed in range(3):
            tags = {"ablation": "lwas", "setting": setting, "seed": str(seed), "method": "hinas",
                    "task": "denoise", "git_commit": "2e148c0", PARENT_TAG: parent}
            run = client.create_run(exp, tags=tags).info.run_id
            params = flat({**OLD_CONFIG, "seed": seed})
            client.log_batch(run, params=[Param(k, str(v)) for k, v in params.items()])
            metrics = {k: v + 0.1 * seed for k, v in OLD_METRICS.items()}
            client.log_batch(run, metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()])
            client.set_terminated(run, "FINISHED")
    assert "search.method" in client.get_run(run).data.params  # the old key, not method.name
    return tmp_path


def test_old_runs_build_the_table(old_store, capsys):
    assert main(["table", "lwas"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| HiNAS")]
    assert len(rows) == 4  # basic, lwas, resl, lwas_resl: two with runs, two empty
    expected = sum(OLD_METRICS["psnr_sigma30"] + 0.1 * s for s in range(3)) / 3
    assert f"{expected:.2f}" in out


def test_old_runs_build_the_report(old_store, capsys):
    assert main(["report", "lwas", "--out", str(old_store / "report")]) == 0
    assert (old_store / "report" / "report.html").exists() and (old_store / "report" / "table.csv").exists()


def test_an_old_run_folder_is_not_resumed_under_the_new_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(OLD_CONFIG, indent=2, sort_keys=True))
    (tmp_path / "checkpoint.pt").write_bytes(b"an old checkpoint")
    with pytest.raises(ValueError, match="holds a run with a different config"):
        run_trial(pipeline_config(), tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"an old checkpoint"  # nothing lost


def test_a_run_folder_older_than_a_config_key_resumes_with_the_key_at_its_default(tmp_path):
    """Keys are added with the old behaviour as their default, so a config.json without one resumes; a key
    whose value now differs is named with both values."""
    cfg = pipeline_config(retrain__start_at_skip=False)
    stored = json.loads(to_json(cfg))
    del stored["retrain"]["start_at_skip"], stored["retrain"]["precision"]  # as written before those keys
    assert config_differences(json.dumps(stored), cfg) == []
    assert config_differences(json.dumps(stored), pipeline_config(retrain__start_at_skip=True)) == [
        "retrain.start_at_skip is False there, True now"]
    (tmp_path / "config.json").write_text(json.dumps(stored))
    (tmp_path / "checkpoint.pt").write_bytes(b"a checkpoint")
    with pytest.raises(ValueError, match=re.escape("(retrain.start_at_skip is False there, True now); resume it "
                                                   "with the run's values (--set key=value)")):
        run_trial(pipeline_config(retrain__start_at_skip=True), tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"a checkpoint"
