"""End to end on a real local Ray instance and a real MLflow SQLite store (slow: minutes on 2 CPUs).

Each test runs the CLI in a subprocess from its own folder, as a user would, and reads what it left
in MLflow and in the Ray results folder.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import skimage.data
import torch
from mlflow import MlflowClient
from PIL import Image

from orchestrator.tracking import PARENT_TAG
from trials import metric_names as M
from trials.data import read_image
from trials.metrics import run_on_image
from trials.saved_network import load_network

# The README main job (lwas_smoke) alone takes ~12 min on 2 cores: more than the suite-wide 1200 s under load.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
FINAL_METRICS = [M.psnr("sigma30"), M.ssim("sigma30"), M.psnr("sigma70"), M.PARAMS_M, M.SEARCH_TIME_S,
                 M.PEAK_MEMORY_MB]


def orchestrator(cwd: Path, *argv: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def start_orchestrator(cwd: Path, *argv: str, log_name: str = "driver.log") -> subprocess.Popen:
    log = open(cwd / log_name, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "orchestrator", *argv], cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def store(cwd: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{cwd / 'runs' / 'mlflow.db'}")


def child_runs(cwd: Path, experiment: str = "hinas-lwas-denoise") -> tuple[list, list]:
    client = store(cwd)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if PARENT_TAG not in r.data.tags]
    return parents, [r for r in runs if PARENT_TAG in r.data.tags and M.TAG_REFERENCE not in r.data.tags]


def reference_runs(cwd: Path, experiment: str = "hinas-lwas-denoise") -> list:
    """The reference rows' runs (degraded input, classical method: trials/references.py)."""
    client = store(cwd)
    exp = client.get_experiment_by_name(experiment)
    return [r for r in client.search_runs([exp.experiment_id], max_results=1000) if M.TAG_REFERENCE in r.data.tags]


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("| RSWS", "| HiNAS"))]


def genotype_of(cwd: Path, run) -> dict:
    path = store(cwd).download_artifacts(run.info.run_id, "genotype.json", str(cwd / f"dl-{run.info.run_id}"))
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def lwas_smoke(tmp_path_factory):
    """The README's main job: the whole Table 1 ablation on the built-in data, smoke preset."""
    cwd = tmp_path_factory.mktemp("lwas")
    start = time.perf_counter()
    result = orchestrator(cwd, "ablation", "lwas", "--preset", "smoke")
    print(f"ablation lwas --preset smoke: {time.perf_counter() - start:.0f} s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (cwd / "console.txt").write_text(result.stdout + result.stderr)  # what the user's terminal showed
    return cwd, result.stdout


def test_lwas_smoke_fills_mlflow_with_one_parent_and_15_complete_children(lwas_smoke):
    cwd, _ = lwas_smoke
    parents, children = child_runs(cwd)
    assert len(parents) == 1 and len(children) == 15
    assert {r.data.tags[PARENT_TAG] for r in children} == {parents[0].info.run_id}
    keys = {(r.data.tags[M.TAG_SETTING], r.data.tags[M.TAG_SEED]) for r in children}
    assert keys == {(s, str(seed)) for s in ("rsws", "basic", "lwas", "resl", "lwas_resl") for seed in (0, 1, 2)}
    for run in children:
        assert run.info.status == "FINISHED"
        assert all(m in run.data.metrics for m in FINAL_METRICS), run.data.tags[M.TAG_SETTING]
        rsws = run.data.tags[M.TAG_SETTING] == "rsws"
        assert run.data.params["method.name"] == run.data.tags[M.TAG_METHOD] == ("rsws" if rsws else "hinas")
        assert run.data.tags[M.TAG_SPACE] == "hinas" and run.data.tags[M.TAG_TASK] == "denoise"
        assert {M.TAG_ABLATION, M.TAG_COMMIT, M.TAG_NODE_ID} <= set(run.data.tags)
        artifacts = {a.path for a in store(cwd).list_artifacts(run.info.run_id)}
        assert {"genotype.json", "config.json", "architecture.png"} <= artifacts
        assert ("alpha.png" in artifacts) != rsws  # RSWS trains no alpha: no heat map of its initial values
        networks = {a.path for a in store(cwd).list_artifacts(run.info.run_id, "networks")}
        assert networks == {f"networks/network_sigma{s}.pt" for s in (30, 50, 70)}
        assert len(store(cwd).get_metric_history(run.info.run_id, M.VAL_PSNR)) >= 2  # a search curve


def test_lwas_smoke_prints_table_1_with_five_rows(lwas_smoke):
    _, stdout = lwas_smoke
    assert len(table_rows(stdout)) == 5
    assert "mlflow ui --backend-store-uri sqlite:///" in stdout


def test_every_smoke_trial_beats_the_noisy_input_at_every_sigma(lwas_smoke):
    """Smoke numbers mean something: each retrained network is better than its own seed's noisy input."""
    cwd, stdout = lwas_smoke
    noisy = {r.data.tags[M.TAG_SEED]: r.data.metrics for r in reference_runs(cwd)
             if r.data.tags[M.TAG_SETTING] == "reference-noisy"}
    _, children = child_runs(cwd)
    for run in children:
        floor = noisy[run.data.tags[M.TAG_SEED]]
        for sigma in (30, 50, 70):
            key = M.psnr(f"sigma{sigma}")
            assert run.data.metrics[key] > floor[key], (run.data.tags[M.TAG_SETTING], run.data.tags[M.TAG_SEED],
                                                        key, run.data.metrics[key], floor[key])
    assert "↓" not in stdout  # so no row of Table 1 is flagged below the noisy input


def test_smoke_sr_rows_with_residual_learning_beat_bicubic_and_the_table_flags_rows_below_it(tmp_path):
    """Table 2's rows with residual learning (RSWS searches that space too) beat their seed's bicubic row: they
    start at bicubic (retrain.start_at_skip). The basic row learns the whole image through BatchNorm, which smoke
    budgets do not reach (README); whatever it scores, the table marks a cell '↓' exactly when it is below the
    bicubic row, and says why in its caption."""
    settings = ("rsws", "basic", "resl", "lwas_resl")
    result = orchestrator(tmp_path, "ablation", "lwas", "--task", "sr", "--settings", ",".join(settings),
                          "--seeds", "0")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    bicubic = {r.data.tags[M.TAG_SEED]: r.data.metrics for r in reference_runs(tmp_path, "hinas-lwas-sr")
               if r.data.tags[M.TAG_SETTING] == "reference-bicubic"}
    _, children = child_runs(tmp_path, "hinas-lwas-sr")
    assert sorted(r.data.tags[M.TAG_SETTING] for r in children) == sorted(settings)
    key = M.psnr("builtin_x4")
    for run in children:
        floor = bicubic[run.data.tags[M.TAG_SEED]][key]
        if run.data.tags[M.TAG_SETTING] != "basic":
            assert run.data.metrics[key] > floor, (run.data.tags[M.TAG_SETTING], run.data.metrics[key], floor)
    bicubic_psnr = psnr_cell(next(line for line in result.stdout.splitlines()
                                  if line.startswith("| bicubic upscaling (reference)")))
    rows = [row for row in table_rows(result.stdout) if row.split("|")[6].strip() != "–"]  # lwas did not run
    assert len(rows) == len(settings)
    for row in rows:
        assert ("↓" in row.split("|")[6]) == (psnr_cell(row) < bicubic_psnr), row
    assert ("↓ below the bicubic upscaling (reference) row" in result.stdout) == any("↓" in row for row in rows)


def psnr_cell(row: str) -> float:
    """The PSNR of a console Table 2 row (Method | LWAS | ResL | n | Params | PSNR | SSIM) as displayed."""
    return float(row.split("|")[6].split()[0])


def test_the_console_is_short_and_shows_progress_without_tracebacks(lwas_smoke):
    cwd, _ = lwas_smoke
    console = (cwd / "console.txt").read_text()
    lines = console.splitlines()
    assert len(lines) < 100, f"{len(lines)} lines"
    assert "Traceback" not in console and "Checkpoint successfully created" not in console
    assert "\x1b[" not in console  # no colour codes in a log file
    assert "== Status ==" not in console  # Tune's repeated table
    finished = [line for line in lines if line.startswith("[") and "/15] " in line and "done in" in line]
    assert len(finished) == 15 and all("sigma30" in line and "ablation eta" in line for line in finished)
    assert "ray get-auth-token" in console
    again = fresh_shell(cwd, printed_command(console, "Table again:"), timeout=300)  # as typed, in a new shell
    assert again.returncode == 0, again.stderr[-2000:]
    assert table_lines(again.stdout) == table_lines(console)


def test_the_parent_run_is_the_ablations_home(lwas_smoke):
    """Command, preset and grid as params, a description, the table files and the report as artifacts; every
    child tagged with the preset and the parent's id; retraining loss curves per condition."""
    cwd, stdout = lwas_smoke
    (parent,), children = child_runs(cwd)
    client = store(cwd)
    params, tags = parent.data.params, parent.data.tags
    assert params["command"].startswith("python -m orchestrator ablation lwas") and params["preset"] == "smoke"
    assert params["trials"] == "15" and params["seeds"] == "0,1,2"
    assert "Smoke preset" in tags["mlflow.note.content"] and len(tags[M.TAG_COMMIT]) == 40
    assert client.get_experiment(parent.info.experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    for setting in ("rsws", "lwas_resl"):  # the table's means, for the runs table and charts
        mine = [r.data.metrics[M.psnr("sigma50")] for r in children if r.data.tags[M.TAG_SETTING] == setting]
        assert parent.data.metrics[f"{M.psnr('sigma50')}_mean.{setting}"] == pytest.approx(np.mean(mine))
    report = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {f"report/{name}" for name in ("table.md", "table.tex", "table.csv", "report.md", "report.html")} <= report
    assert any(path.endswith(".png") for path in report)
    text = Path(client.download_artifacts(parent.info.run_id, "report/report.md", str(cwd / "parent"))).read_text()
    assert "python -m orchestrator ablation lwas" in text and "smoke" in text.lower()
    assert parent.info.run_id in next(line for line in stdout.splitlines() if line.startswith("MLflow UI:"))
    for run in children:
        assert run.data.tags[M.TAG_PRESET] == "smoke" and run.data.tags[M.TAG_INVOCATION] == parent.info.run_id
        assert run.data.params[M.TAG_SETTING] == run.data.tags[M.TAG_SETTING]
        assert int(run.data.params["param_count"]) == round(run.data.metrics[M.PARAMS_M] * 1e6)
        assert run.data.params["device_resolved"] == "cpu" and M.PEAK_RSS_MB in run.data.metrics
        assert {d.dataset.name for d in run.inputs.dataset_inputs} == {"builtin"}
        curve = client.get_metric_history(run.info.run_id, "retrain_loss_sigma50")
        assert len(curve) >= 10 and curve[-1].step == 200


def test_the_mlflow_ui_shows_the_table_and_report_on_the_parent_run(lwas_smoke, tmp_path):
    """A real browser (Debian's Chromium driven by Playwright) opens the parent run in a real MLflow server."""
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if browser_path is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    cwd, _ = lwas_smoke
    (parent,), children = child_runs(cwd)
    port = free_port()
    console = (cwd / "console.txt").read_text()
    serve = printed_command(console, "MLflow UI:")  # as the console printed it
    assert serve.endswith("--port 5000")
    server = subprocess.Popen(["bash", "-c", f"{serve[:-len('5000')]}{port}"], cwd=cwd, env=fresh_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout_s=120)
        link = printed_command((cwd / "console.txt").read_text(), "MLflow run of this ablation:").split()[0]
        assert link.startswith("http://127.0.0.1:5000/")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(link.replace(":5000/", f":{port}/"))  # the run page, as the console's link opens it
            # the table's means among the parent's metrics, in the model-training view: the GenAI one's sidebar
            # has "Training runs" and its overview "Detect Issues"
            page.get_by_text("psnr_sigma30_mean.lwas_resl", exact=True).first.wait_for(timeout=60_000)
            assert page.get_by_text("Training runs").count() == 0 and page.get_by_text("Detect Issues").count() == 0
            page.screenshot(path=str(cwd / "mlflow_parent_run_overview.png"))
            # the runs table the console links opens as a results table: trials grouped by setting, test metrics
            # as columns (it opened on one collapsed row with no metric column)
            runs_table = printed_command(console, "Runs table:").split()[0].replace(":5000/", f":{port}/")
            page.goto(runs_table)
            page.get_by_text("Group: lwas_resl", exact=False).first.wait_for(timeout=60_000)
            for column in ("psnr_sigma30", "ssim_sigma30", "params_m"):
                assert page.get_by_role("columnheader").filter(has_text=column).count() >= 1, column
            page.screenshot(path=str(cwd / "mlflow_runs_table.png"))
            page.goto(runs_table + "&compareRunsMode=CHART")  # its chart view: the test metrics first, per setting
            page.get_by_text("Test results", exact=False).first.wait_for(timeout=60_000)
            page.screenshot(path=str(cwd / "mlflow_runs_charts.png"))
            # a trial's page: its test results as its description, above the system and search metrics
            child = next(r for r in children if r.data.tags[M.TAG_SETTING] == "lwas")
            page.goto(f"http://127.0.0.1:{port}/#/experiments/{parent.info.experiment_id}/runs/{child.info.run_id}"
                      "?workflowType=machine_learning")
            page.get_by_text("Test results", exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(cwd / "mlflow_trial_run.png"))
            url = f"http://127.0.0.1:{port}/#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}/artifacts"
            page.goto(url)
            page.get_by_text("report", exact=True).first.click(timeout=60_000)
            for name in ("table.md", "report.html", "report.md"):
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            page.get_by_text("table.md", exact=True).first.click()
            page.get_by_text("Effects of LWAS and ResL", exact=False).first.wait_for(timeout=30_000)
            page.screenshot(path=str(cwd / "mlflow_parent_run.png"))
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def test_table_1_has_the_noisy_input_and_non_local_means_as_reference_rows(lwas_smoke):
    """Scored per seed on the trials' own test pairs: the noisy input is the floor (PSNR falls with σ), NLM
    is above it; both are child runs of the parent and rows of the table, marked as references."""
    cwd, stdout = lwas_smoke
    references = reference_runs(cwd)
    assert sorted((r.data.tags[M.TAG_SETTING], r.data.tags[M.TAG_SEED]) for r in references) == sorted(
        (s, str(seed)) for s in ("reference-noisy", "reference-nlm") for seed in (0, 1, 2))
    by = {(r.data.tags[M.TAG_SETTING], r.data.tags[M.TAG_SEED]): r.data.metrics for r in references}
    for seed in ("0", "1", "2"):
        noisy, nlm = by[("reference-noisy", seed)], by[("reference-nlm", seed)]
        assert noisy["psnr_sigma30"] > noisy["psnr_sigma50"] > noisy["psnr_sigma70"]
        assert all(nlm[f"psnr_sigma{s}"] > noisy[f"psnr_sigma{s}"] + 3 for s in (30, 50, 70))
    assert {(r.data.tags[M.TAG_SETTING], r.data.tags[M.TAG_REFERENCE_ROLE]) for r in references} == {
        ("reference-noisy", M.ROLE_INPUT), ("reference-nlm", M.ROLE_METHOD)}
    rows = [line for line in stdout.splitlines() if "(reference)" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["noisy input (reference)",
                                                      "non-local means (scikit-image, told σ) (reference)"]


def test_table_command_rebuilds_table_1_from_mlflow_and_compares_with_the_paper(lwas_smoke):
    cwd, _ = lwas_smoke
    result = orchestrator(cwd, "table", "lwas", "--compare", "paper")
    assert result.returncode == 0, result.stderr
    ours, _, compared = result.stdout.partition("Against the paper")
    assert len(table_rows(ours)) == 5 and len(table_rows(compared)) == 10  # beside ours: PSNR and SSIM, 5 rows
    assert "Smoke run" in compared and " / 29.15 / " in compared  # HiNAS basic at sigma 30: the paper's number
    report = orchestrator(cwd, "report", "lwas", "--out", str(cwd / "report"))
    assert report.returncode == 0, report.stderr
    assert (cwd / "report" / "report.html").exists()
    checklist = (cwd / "report" / "checklist.md").read_text()
    assert "Random-architecture baseline | no row in this table" in " ".join(checklist.split())
    cost = orchestrator(cwd, "table", "lwas", "--cost")
    header = next(line for line in cost.stdout.splitlines() if line.startswith("| Method"))
    assert cost.returncode == 0 and "Search device-h" in header and "Retrain device-h" in header
    assert all(float(row.split("|")[-2].split("±")[0]) > 0 for row in table_rows(cost.stdout))  # core-hours


def test_apply_restores_a_user_image_with_a_trial_s_network(lwas_smoke):
    """`apply RUN_ID`: the run's sigma-50 network from MLflow on a user's noisy image, as evaluation runs it."""
    cwd, _ = lwas_smoke
    _, children = child_runs(cwd)
    run = next(r for r in children if r.data.tags[M.TAG_SETTING] == "lwas_resl")
    clean = _gray_photo()
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 50 / 255, clean.shape), 0, 1)
    Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(cwd / "noisy.png")
    result = orchestrator(cwd, "apply", run.info.run_id, "noisy.png", "-o", "clean.png", "--sigma", "50",
                          "--tile", "48")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sigma 50" in result.stdout
    restored = np.asarray(Image.open(cwd / "clean.png"), dtype=np.float32) / 255
    # the same network, loaded here from the run's artifact, run with the same tiled inference
    path = store(cwd).download_artifacts(run.info.run_id, "networks/network_sigma50.pt", str(cwd / "net"))
    net, info = load_network(path)
    assert info["condition"] == 50 and info["io"].scale == 1
    expected = run_on_image(net, read_image(cwd / "noisy.png", color=False), tile=48)
    np.testing.assert_array_equal(restored, np.round(np.clip(expected[..., 0], 0, 1) * 255) / 255)
    models = store(cwd).search_logged_models(experiment_ids=[run.info.experiment_id], max_results=1000)
    mine = sorted(m.name for m in models if m.source_run_id == run.info.run_id)
    assert mine == [f"network_sigma{s}" for s in (30, 50, 70)]  # the run's MLflow models
    # each with a signature taking whole images of any size: mlflow.pyfunc runs it as the network does
    import mlflow.pyfunc

    mlflow.set_tracking_uri(f"sqlite:///{cwd / 'runs' / 'mlflow.db'}")
    model = next(m for m in models if m.source_run_id == run.info.run_id and m.name == "network_sigma50")
    loaded = mlflow.pyfunc.load_model(f"models:/{model.model_id}")
    assert [list(spec.shape) for spec in loaded.metadata.signature.inputs.inputs] == [[-1, 1, -1, -1]]
    image = read_image(cwd / "noisy.png", color=False).transpose(2, 0, 1)[None]  # 1 x 1 x H x W
    np.testing.assert_allclose(loaded.predict(image), run_on_image(net, image[0].transpose(1, 2, 0))
                               .transpose(2, 0, 1)[None], atol=1e-5)


def test_apply_takes_the_ablation_s_run_id_the_console_prints_with_a_setting(lwas_smoke):
    """Issue 28: `apply PARENT_ID` was refused ("holds no retrained network"). Without --setting it lists the
    settings; with one it takes that setting's best trial by mean test PSNR at the asked sigma."""
    cwd, stdout = lwas_smoke
    (parent,), children = child_runs(cwd)
    clean = _gray_photo()
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 30 / 255, clean.shape), 0, 1)
    Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(cwd / "noisy30.png")
    printed = printed_command(stdout, "Networks:")
    assert f"apply {parent.info.run_id} IMAGE -o OUT --setting" in printed
    listed = orchestrator(cwd, "apply", parent.info.run_id, "noisy30.png", "-o", "a.png", "--sigma", "30")
    assert listed.returncode == 2 and "--setting NAME" in listed.stderr
    assert all(name in listed.stderr for name in ("rsws", "basic", "lwas", "resl", "lwas_resl"))
    chosen = orchestrator(cwd, "apply", parent.info.run_id, "noisy30.png", "-o", "a.png", "--sigma", "30",
                          "--setting", "resl")
    assert chosen.returncode == 0, chosen.stderr[-3000:]
    resl = [r for r in children if r.data.tags[M.TAG_SETTING] == "resl"]
    best = max(resl, key=lambda r: r.data.metrics[M.psnr("sigma30")])  # the built-in test set only
    assert f"trial {best.info.run_id}" in chosen.stderr
    direct = orchestrator(cwd, "apply", best.info.run_id, "noisy30.png", "-o", "b.png", "--sigma", "30")
    assert direct.returncode == 0
    assert (cwd / "a.png").read_bytes() == (cwd / "b.png").read_bytes()


def _gray_photo() -> np.ndarray:
    return skimage.data.camera()[100:196, 150:278].astype(np.float32) / 255


def test_killed_trial_worker_is_retried_from_its_checkpoint_with_the_same_genotype(tmp_path):
    args = ("ablation", "lwas", "--settings", "lwas", "--seeds", "0")
    baseline = orchestrator(tmp_path, *args, "--name", "baseline")
    assert baseline.returncode == 0, baseline.stderr[-3000:]
    _, (expected,) = child_runs(tmp_path)

    killed = tmp_path / "killed"
    killed.mkdir()
    driver = start_orchestrator(killed, *args, "--name", "killed", "--max-failures", "2")
    phase = wait_for_search_checkpoint(killed / "runs" / "ray_results" / "killed", min_epoch=2)
    assert phase["phase"] == "search" and phase["epoch"] < 4  # killed mid-search, not after it
    kill_trial_workers()
    assert driver.wait(timeout=900) == 0, (killed / "driver.log").read_text()[-3000:]
    _, runs = child_runs(killed)
    assert len(runs) == 1  # the retry continued its own MLflow run
    assert genotype_of(killed, runs[0]) == genotype_of(tmp_path, expected)
    assert restored_once(killed / "runs" / "ray_results" / "killed")
    for metric in (M.psnr("sigma30"), M.ssim("sigma50")):
        assert runs[0].data.metrics[metric] == expected.data.metrics[metric]


def test_killed_driver_resumes_only_the_missing_trials(tmp_path):
    args = ("ablation", "lwas", "--settings", "basic,lwas,resl", "--seeds", "0", "--max-concurrent", "1",
            "--name", "interrupted")
    driver = start_orchestrator(tmp_path, *args)
    finished_before = wait_for_finished_children(tmp_path, count=1)
    ray_processes = [p for p in psutil.Process(driver.pid).children(recursive=True)
                     if "orchestrator.watchdog" not in " ".join(p.cmdline())]
    os.kill(driver.pid, signal.SIGKILL)  # the driver alone, as a crash would; the Ray it started must follow
    driver.wait(timeout=60)
    deadline = time.time() + 30
    while time.time() < deadline and (left := [p for p in ray_processes if alive(p)]):
        time.sleep(0.5)
    assert not left, f"processes of the killed driver still running: {left}"  # Ray's agents included
    time.sleep(2)
    resumed = orchestrator(tmp_path, *args, "--resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    parents, children = child_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 3  # exactly one child run per trial
    assert all(r.info.status == "FINISHED" for r in children)
    after = {r.info.run_id: r for r in children}
    for run_id, metrics in finished_before.items():  # finished trials did no work again
        assert after[run_id].data.metrics[M.SEARCH_TIME_S] == metrics[M.SEARCH_TIME_S]
        assert after[run_id].data.metrics[M.psnr("sigma30")] == metrics[M.psnr("sigma30")]
    for run in children:  # no trial repeated a logged search epoch
        steps = [m.step for m in store(tmp_path).get_metric_history(run.info.run_id, M.TRAIN_LOSS)]
        assert sorted(steps) == [1, 2, 3, 4]
    assert len(table_rows(resumed.stdout)) == 3  # the invocation's settings, no row for one it did not run


def test_ctrl_c_is_an_interruption_and_the_printed_resume_finishes_the_same_invocation(tmp_path):
    """Issue 28: the resume hint ran the missing trials with the default config (epochs, iterations, sigmas)
    and seeds. Now the printed command, typed into a fresh shell, finishes the invocation as it was started:
    its table equals an uninterrupted run's."""
    sets = [a for item in ("search.epochs=2", "retrain.iterations=40", "task.sigmas=30") for a in ("--set", item)]
    args = ("ablation", "lwas", "--settings", "basic,lwas", "--seeds", "1", "--max-concurrent", "1", *sets,
            "--name", "ctrl-c")
    driver = start_orchestrator(tmp_path, *args)
    wait_for_finished_children(tmp_path, count=1)
    deadline = time.time() + 120
    while len(child_runs(tmp_path)[1]) < 2 and time.time() < deadline:  # the second trial has started
        time.sleep(0.2)
    driver.send_signal(signal.SIGINT)  # Ctrl-C in the driver's terminal
    code = driver.wait(timeout=300)
    log = (tmp_path / "driver.log").read_text()
    assert code == 130, log[-3000:]
    assert "1 of 2 trials finished; 1 interrupted" in log
    parents, children = child_runs(tmp_path)
    assert parents[0].info.status == "KILLED"
    assert sorted(r.info.status for r in children) == ["FINISHED", "KILLED"]

    hint = next(line for line in log.splitlines() if "Finish with: " in line).split("Finish with: ")[1]
    resumed = fresh_shell(tmp_path, hint)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    parents, children = child_runs(tmp_path)
    assert len(parents) == 1 and sorted(r.info.status for r in children) == ["FINISHED", "FINISHED"]
    assert {r.data.params["search.epochs"] for r in children} == {"2"}
    assert {r.data.params["retrain.iterations"] for r in children} == {"40"}
    assert {r.data.tags[M.TAG_SEED] for r in children + reference_runs(tmp_path)} == {"1"}
    whole = tmp_path / "uninterrupted"
    whole.mkdir()
    uninterrupted = orchestrator(whole, *args)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    assert without_latency(table_lines(resumed.stdout)) == without_latency(table_lines(uninterrupted.stdout))


def without_latency(lines: list[str]) -> list[str]:
    """Table lines without their last column, the latency: a wall-clock measurement that no seed fixes."""
    assert "Latency (ms)" in lines[0].rsplit("|", 2)[1]
    return [line.rsplit("|", 2)[0] for line in lines]


def test_sigterm_stops_like_ctrl_c_with_exit_143_and_the_resume_command(tmp_path):
    """Issue 31: SIGTERM (Slurm, Kubernetes, `ray job stop`) killed the driver in Ray's native handler, exit 134,
    no message, the parent run FAILED."""
    driver = start_orchestrator(tmp_path, "ablation", "lwas", "--settings", "lwas", "--seeds", "0", "--name", "term")
    deadline = time.time() + 300
    while time.time() < deadline and not has_children(tmp_path):  # the trial is running
        time.sleep(0.5)
    driver.send_signal(signal.SIGTERM)
    code = driver.wait(timeout=300)
    log = (tmp_path / "driver.log").read_text()
    assert code == 143, log[-3000:]
    assert "terminated (SIGTERM): 1 trial(s) did not finish" in log and "--name term --resume" in log
    parents, children = child_runs(tmp_path)
    assert parents[0].info.status == "KILLED" and [r.info.status for r in children] == ["KILLED"]


def has_children(cwd: Path) -> bool:
    try:
        return bool(child_runs(cwd)[1])
    except Exception:  # noqa: BLE001 - the store is still being created
        return False


def table_lines(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) >= 4, text[-3000:]  # header, rule, two settings' rows (and references)
    return lines


def fresh_shell(cwd: Path, command: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``command`` as the console printed it, typed into a new shell that has not activated the environment."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=fresh_env(), capture_output=True, text=True,
                          timeout=timeout)


def fresh_env() -> dict[str, str]:
    """A new shell's environment: this virtual environment neither active nor on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def printed_command(console: str, label: str) -> str:
    """The command the console printed after ``label`` (e.g. "Table again:")."""
    line = next(line for line in console.splitlines() if line.startswith(label))
    return line[len(label):].split("   then open")[0].strip()


def test_asking_for_gpus_the_cluster_lacks_is_an_error_not_a_hang(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = orchestrator(tmp_path, "ablation", "lwas", "--settings", "lwas", "--seeds", "0",
                          "--gpus-per-trial", "1", timeout=180)
    assert result.returncode == 2 and "GPU" in result.stderr and "--gpus-per-trial" in result.stderr


TRIVIAL = ["search.epochs=2", "method.warmup_epochs=0", "search.eval_from_epoch=1", "search.steps_per_epoch=1",
           "retrain.iterations=2", "data.max_test_images=1", "task.sigmas=30"]


def test_optuna_chooses_lambda_through_tune(tmp_path):
    sets = [arg for item in TRIVIAL for arg in ("--set", item)]
    result = orchestrator(tmp_path, "ablation", "lambda", "--search", "optuna", "--num-samples", "3", "--seeds", "0",
                          *sets, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    _, children = child_runs(tmp_path, "hinas-lambda-denoise")
    lams = sorted(float(r.data.params["loss.lam"]) for r in children)
    assert len(children) == 3 and len(set(lams)) == 3 and all(0 <= lam <= 1.5 for lam in lams)
    assert all(r.data.tags[M.TAG_SETTING] == f"lam{float(r.data.params['loss.lam']):.4g}" for r in children)
    assert all("best_val_score" in r.data.metrics for r in children)


def test_a_deterministic_trial_error_ends_the_trial_once_as_failed_not_retried(tmp_path):
    """A loss that diverges at the same step every time (w_lr 0 in epoch 1, ~1e29 in epoch 2): Ray does not
    retry it from its checkpoint; the driver names the error per trial and exits 1; MLflow says FAILED."""
    diverge = ["--set", "search.w_lr=0", "--set", "search.w_lr_min=1e30", "--set", "task.sigmas=30"]
    result = orchestrator(tmp_path, "ablation", "lwas", "--settings", "lwas,rsws", "--seeds", "0", *diverge,
                          "--max-failures", "2", timeout=900)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    failed = [line for line in result.stdout.splitlines() if line.strip().startswith("failed:")]
    assert len(failed) == 2 and all("NonFiniteLossError" in line and "search epoch 2" in line for line in failed)
    assert "0 of 2 trials finished; 2 failed" in result.stdout
    results = [json.loads(line) for f in (tmp_path / "runs" / "ray_results").glob("*/*/result.json")
               for line in f.read_text().splitlines()]
    assert results and all(r["iterations_since_restore"] == r["training_iteration"] for r in results)  # no retry
    parents, children = child_runs(tmp_path)
    assert parents[0].info.status == "FAILED" and sorted(r.info.status for r in children) == ["FAILED"] * 2


def test_a_second_ablation_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    """Two drivers, one Ray experiment folder: the second stops at once naming the first's pid; the first
    runs on undisturbed and finishes; afterwards (its lock gone with it) --resume is accepted."""
    args = ["ablation", "lwas", "--settings", "lwas", "--seeds", "0", *[a for item in TRIVIAL for a in ("--set", item)]]
    first = start_orchestrator(tmp_path, *args)
    try:
        deadline = time.time() + 120
        lock = tmp_path / "runs" / "ray_results" / "lwas-denoise-smoke.lock"
        while not (lock.exists() and "pid" in lock.read_text()) and time.time() < deadline:
            time.sleep(0.2)
        second = orchestrator(tmp_path, *args, timeout=120)
        assert second.returncode == 2 and f"pid {first.pid}" in second.stderr, second.stderr[-2000:]
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            first.kill()
    parents, children = child_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 1 and children[0].info.status == "FINISHED"
    again = orchestrator(tmp_path, *args, "--resume", timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]


def test_two_ablations_started_at_once_on_a_new_store_both_finish(tmp_path):
    """Two drivers (different --name, so different Ray folders) create one new SQLite store at the same moment:
    the schema is created once under a lock instead of racing ("table already exists"), both end with 0."""
    args = ["ablation", "lwas", "--settings", "lwas", "--seeds", "0", *[a for item in TRIVIAL for a in ("--set", item)]]
    names = ("first", "second")
    drivers = [start_orchestrator(tmp_path, *args, "--name", name, log_name=f"{name}.log") for name in names]
    codes = [d.wait(timeout=900) for d in drivers]
    logs = {name: (tmp_path / f"{name}.log").read_text(errors="replace") for name in names}
    assert codes == [0, 0], {name: log[-2000:] for name, log in logs.items()}
    assert not any("already exists" in log or "OperationalError" in log for log in logs.values())
    parents, children = child_runs(tmp_path)
    assert len(parents) == 2 and len(children) == 2 and all(r.info.status == "FINISHED" for r in children)


# --- helpers ------------------------------------------------------------------------------------------
def wait_for_search_checkpoint(experiment: Path, min_epoch: int, timeout: float = 600) -> dict:
    """Polls Tune's persisted checkpoints until one holds a search state of at least ``min_epoch``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for path in sorted(experiment.glob("*/checkpoint_*/checkpoint.pt")):
            try:
                state = torch.load(path, weights_only=True)
            except (RuntimeError, OSError, EOFError):
                continue  # being written
            if state["phase"] == "search" and state["search"]["progress"]["epoch"] >= min_epoch:
                return {"phase": "search", "epoch": state["search"]["progress"]["epoch"]}
        time.sleep(0.2)
    raise AssertionError(f"no search checkpoint of epoch {min_epoch} under {experiment}")


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_trial_workers() -> None:
    victims = [p for p in psutil.process_iter(["cmdline"]) if "ray::ImplicitFunc" in " ".join(p.info["cmdline"] or [])]
    assert victims, "no trial worker process found"
    for process in victims:
        process.send_signal(signal.SIGKILL)


def restored_once(experiment: Path) -> bool:
    """Tune counts iterations since the last (re)start: after a restore it restarts below the total."""
    lines = [json.loads(x) for f in experiment.glob("*/result.json") for x in f.read_text().splitlines()]
    return any(r["iterations_since_restore"] < r["training_iteration"] for r in lines)


def wait_for_finished_children(cwd: Path, count: int, timeout: float = 600) -> dict[str, dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = cwd / "driver.log"
        if log.exists() and "MLflow run of this ablation" in log.read_text(errors="replace"):  # the store is set up
            try:
                _, children = child_runs(cwd)
            except Exception:  # noqa: BLE001 - the store is still being created
                children = []
            done = {r.info.run_id: dict(r.data.metrics) for r in children if r.info.status == "FINISHED"}
            if len(done) >= count:
                return done
        time.sleep(1)
    raise AssertionError(f"fewer than {count} finished trials in {cwd}")


def test_sr_systems_puts_hinas_and_dlsr_side_by_side_with_their_complexity(tmp_path):
    """The table no paper has: both systems at x2/x3/x4 on the same data, with params and Mult-Adds."""
    result = orchestrator(tmp_path, "ablation", "sr-systems", "--task", "sr", "--seeds", "0")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| HiNAS", "| DLSR"))]
    assert [r.split("|")[1].strip() for r in rows] == ["HiNAS", "DLSR"]
    assert "Mult-Adds (G)" in result.stdout
    _, children = child_runs(tmp_path, "dlsr-sr-systems-sr")
    assert sorted(r.data.tags[M.TAG_SPACE] for r in children) == ["dlsr", "hinas"]
    for run in children:
        scales = {f"{M.MULT_ADDS_G}_scale{s}" for s in (2, 3, 4)} | {f"psnr_builtin_x{s}" for s in (2, 3, 4)}
        assert scales <= set(run.data.metrics), run.data.tags[M.TAG_SPACE]
        artifacts = {a.path for a in store(tmp_path).list_artifacts(run.info.run_id)}
        assert {"genotype.json", "architecture.png", "alpha.png", "beta.png"} <= artifacts
        networks = {a.path for a in store(tmp_path).list_artifacts(run.info.run_id, "networks")}
        assert networks == {f"networks/network_scale{s}.pt" for s in (2, 3, 4)}
    dlsr = next(r for r in children if r.data.tags[M.TAG_SPACE] == "dlsr")
    assert dlsr.data.metrics[f"{M.MULT_ADDS_G}_scale2"] > dlsr.data.metrics[f"{M.MULT_ADDS_G}_scale4"]
    again = orchestrator(tmp_path, "table", "sr-systems", "--task", "sr")
    assert again.returncode == 0 and [line for line in again.stdout.splitlines() if line.startswith("| DLSR")]


def test_autoderain_ablation_compares_mdarts_darts_random_hand_and_hinas_on_derain(tmp_path):
    """The third system end to end, shortened: one seed, 5 search epochs; the task defaults to derain."""
    short = ["--set", "search.epochs=5", "--set", "search.eval_from_epoch=5", "--set", "search.steps_per_epoch=4",
             "--set", "retrain.iterations=40", "--set", "retrain.checkpoint_every=20"]
    result = orchestrator(tmp_path, "ablation", "autoderain", "--seeds", "0", *short)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    labels = ["AutoDerain (MDARTS)", "DARTS (softmax)", "random search + weight sharing",
              "hand-designed (conv 3x3, SE on)", "HiNAS space and search"]
    rows = [line.split("|")[1].strip() for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [r for r in rows if r in labels] == labels
    assert "Mult-Adds (G)" in result.stdout and "built-in PSNR" in result.stdout
    _, children = child_runs(tmp_path, "autoderain-autoderain-derain")
    by_setting = {r.data.tags[M.TAG_SETTING]: r for r in children}
    assert set(by_setting) == {"mdarts", "darts", "rsws", "hand", "hinas"}
    for setting, run in by_setting.items():
        assert run.data.tags["autoderain_inferred"] == "1"  # the derain task and the space are our design
        assert {"psnr_builtin", "ssim_builtin", f"{M.MULT_ADDS_G}_derain", M.PEAK_MEMORY_MB} <= set(run.data.metrics)
        artifacts = {a.path for a in store(tmp_path).list_artifacts(run.info.run_id)}
        heat_maps = {"a_conv.png", "a_se.png"}
        assert "genotype.json" in artifacts and "architecture.png" in artifacts, setting
        assert (heat_maps <= artifacts) == (setting in ("mdarts", "darts")), (setting, artifacts)
        networks = {a.path for a in store(tmp_path).list_artifacts(run.info.run_id, "networks")}
        assert networks == {"networks/network_derain1.pt"}
    hand = genotype_of(tmp_path, by_setting["hand"])
    assert all(b == {"a": "conv_3x3", "b": "conv_3x3", "se": True} for b in hand["blocks"])
    rainy = tmp_path / "rainy.png"
    Image.fromarray((skimage.data.astronaut()[:64, :80]).astype(np.uint8)).save(rainy)
    applied = orchestrator(tmp_path, "apply", by_setting["mdarts"].info.run_id, str(rainy), "-o", "clean.png")
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert read_image(tmp_path / "clean.png", True).shape == (64, 80, 3)


def test_a_study_reports_random_and_a_second_identical_study_reuses_every_result(tmp_path):
    """Issue 29 end to end: the study's table has the random row and RI, its report the checklist; the same
    study again on the same store computes nothing (every trial adopted from its twin, tagged so) and gives
    the same table; --no-cache computes again; `cache export` lists every result for pandas."""
    sets = [arg for item in TRIVIAL if not item.startswith("method.") for arg in ("--set", item)]  # for every method
    study = ["study", "--task", "denoise", "--settings", "hinas-hinas,hinas-random_arch", "--seeds", "0,1", *sets]
    started = time.monotonic()
    first = orchestrator(tmp_path, *study, "--out", "report", timeout=900)
    first_s = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "RI σ=30 (%)" in first.stdout and "random architectures (HiNAS space)" in first.stdout
    checklist = (tmp_path / "report" / "checklist.md").read_text()
    assert "Random-architecture baseline | yes: hinas-random_arch" in " ".join(checklist.split())
    assert "checklist" in (tmp_path / "report" / "report.html").read_text()

    started = time.monotonic()
    again = orchestrator(tmp_path, *study, "--name", "again", timeout=900)
    again_s = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert table_lines(again.stdout) == table_lines(first.stdout)
    _, children = child_runs(tmp_path, "study-study-denoise")
    by_invocation = {}
    for run in children:
        by_invocation.setdefault(run.data.tags[M.TAG_INVOCATION], []).append(run)
    originals, reused = sorted(by_invocation.values(), key=lambda runs: min(r.info.start_time for r in runs))
    assert all(M.TAG_REUSED not in r.data.tags for r in originals)
    sources = {r.data.tags[M.TAG_REUSED_FROM] for r in reused}
    assert all(r.data.tags.get(M.TAG_REUSED) == "trial" for r in reused) and sources == {r.info.run_id for r in
                                                                                         originals}
    assert all(r.data.metrics[M.psnr("sigma30")] == next(o for o in originals if o.info.run_id == r.data.tags[
        M.TAG_REUSED_FROM]).data.metrics[M.psnr("sigma30")] for r in reused)
    print(f"study: first {first_s:.0f} s, identical again {again_s:.0f} s (reused)")

    fresh = orchestrator(tmp_path, *study, "--name", "fresh", "--no-cache", "--settings", "hinas-random_arch",
                         "--seeds", "0", timeout=900)
    assert fresh.returncode == 0, fresh.stdout[-3000:] + fresh.stderr[-3000:]
    _, children = child_runs(tmp_path, "study-study-denoise")
    assert len(children) == 9 and sum(M.TAG_REUSED in r.data.tags for r in children) == 4

    exported = orchestrator(tmp_path, "cache", "export", "results.parquet", timeout=300)
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_parquet(tmp_path / "results.parquet")
    assert len(frame) == 9 and set(frame[M.TAG_SPACE]) == {"hinas"} and frame[M.TAG_GENOTYPE].notna().all()
    assert set(frame["retrain.iterations"]) == {2} and set(frame[M.TAG_SEED]) == {0, 1}
