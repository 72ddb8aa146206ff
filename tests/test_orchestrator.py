"""The ablation command's checks, registry and grid: everything that must happen before Ray starts."""

import dataclasses
import time

import pytest
import ray

from orchestrator.ablations import ABLATION_NAMES, get_ablation
from orchestrator.cli import main
from orchestrator.presets import preset_config
from orchestrator.trainable import trial_config


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("argv", "message"), [
    (["ablation", "nope"], "valid: lwas, width, ssim, cellsharing, lambda"),
    (["ablation", "lwas", "--settings", "lwas,foo"], "valid: rsws, basic, lwas, resl, lwas_resl"),
    (["ablation", "lwas", "--seeds", "0,x"], "--seeds must be integers"),
    (["ablation", "lwas", "--set", "search.lam=-0.5"], "search.lam must be >= 0"),
    (["ablation", "lambda", "--lambdas", "0.3,-1"], "lambda must be >= 0"),
    (["ablation", "lwas", "--set", "retrain.sigmas=30,45"], "unknown noise level sigma=45"),
    (["ablation", "lwas", "--set", "search.epochs=abc"], "search.epochs='abc' is not a valid int"),
    (["ablation", "lwas", "--set", "search.epoch=3"], "unknown config key 'search.epoch'"),
    (["ablation", "lwas", "--data", "/no/such/folder"], "no such folder"),
    (["ablation", "width", "--task", "sr"], "has no sr table"),
    (["ablation", "lwas", "--search", "optuna"], "use it with `ablation lambda`"),
])
def test_bad_input_is_one_clear_error_before_ray_starts(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not ray.is_initialized()


def test_wrong_data_layout_is_reported_before_ray_starts(capsys, tmp_path):
    (tmp_path / "random.png").write_bytes(b"not an image")
    code, _, err = run_cli(capsys, "ablation", "lwas", "--data", str(tmp_path))
    assert code == 2 and str(tmp_path) in err and not ray.is_initialized()


def test_unreachable_tracking_server_is_reported_at_once(capsys):
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "ablation", "lwas", "--tracking-uri", "http://127.0.0.1:9")
    assert code == 2 and "not reachable" in err and "127.0.0.1:9" in err
    assert time.perf_counter() - start < 10 and not ray.is_initialized()


def test_dry_run_prints_the_trial_grid_without_starting_anything(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "ablation", "lwas", "--dry-run")
    assert code == 0
    rows = [line for line in out.splitlines() if "setting=" in line]
    assert len(rows) == 15
    assert {line.split("setting=")[1].split()[0] for line in rows} == {"rsws", "basic", "lwas", "resl", "lwas_resl"}
    assert not ray.is_initialized() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("task", ["denoise", "sr"])
def test_every_registered_setting_builds_a_valid_trial_config(task):
    base = dataclasses.asdict(preset_config("paper", task))
    for name in ABLATION_NAMES:
        try:
            ablation = get_ablation(name, task)
        except ValueError:  # the paper has no table for this ablation and task (e.g. width for SR)
            continue
        for setting in ablation.settings:
            cfg = trial_config(base, setting, seed=1)
            assert cfg.seed == 1 and cfg.space.task == task


def test_lwas_ablation_rows_switch_what_table_1_says():
    settings = {s.name: trial_config(dataclasses.asdict(preset_config("smoke")), s, 0)
                for s in get_ablation("lwas", "denoise").settings}
    assert settings["rsws"].search.method == "rsws" and settings["rsws"].search.rsws_samples == 30
    assert [(settings[n].space.lwas, settings[n].space.residual) for n in ("basic", "lwas", "resl", "lwas_resl")] \
        == [(False, False), (True, False), (False, True), (True, True)]
    assert all(settings[n].search.method == "hinas" for n in ("basic", "lwas", "resl", "lwas_resl"))


def test_width_settings_fix_the_paper_widths_at_retrain_width():
    ablation = get_ablation("width", "denoise")
    base = dataclasses.asdict(preset_config("paper"))
    w40, wm = (trial_config(base, ablation.setting(n), 0) for n in ("w40", "wm"))
    assert [int(20 * m) for m in w40.space.manual_widths] == [40, 40, 40]
    assert [int(20 * m) for m in wm.space.manual_widths] == [20, 40, 80]
    assert not w40.space.width_search
