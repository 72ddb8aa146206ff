"""--serve-ui: a real `mlflow ui` for a SQLite store on loopback, and what it says when it cannot start one."""

import os
import re
import signal
import socket
import urllib.request

from orchestrator import tracking as tr
from orchestrator.ui import serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_the_mlflow_ui_for_the_store_and_says_how_to_stop_it(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tr.check_reachable(uri)  # the store's schema, as an ablation makes it before serving
    port = free_port()
    line = serve(uri, port, tmp_path / "ui.log", timeout_s=120)
    pid = int(re.search(r"kill (\d+)", line).group(1))
    try:
        assert f"serving {uri} at http://127.0.0.1:{port}" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert response.status == 200
    finally:
        os.killpg(pid, signal.SIGTERM)


def test_a_busy_port_or_a_server_store_starts_nothing_and_says_what_to_do(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        line = serve(uri, busy.getsockname()[1], tmp_path / "ui.log")
    assert "is in use" in line and "mlflow ui --backend-store-uri" in line
    assert not (tmp_path / "ui.log").exists()
    assert "server already" in serve("http://127.0.0.1:5000", free_port(), tmp_path / "ui.log")


def test_a_trials_description_is_its_test_results_by_condition():
    """The run page lists system and search metrics first; the description above them gives the results."""
    from orchestrator.trainable import results_note

    note = results_note({"psnr_sigma30": 21.2688, "ssim_sigma30": 0.74023, "psnr_sigma50": 19.1,
                         "ssim_sigma50": 0.61, "params_m": 0.012729, "mult_adds_g": 11.3, "latency_ms": 75.4,
                         "search_time_s": 16.7, "val_psnr": 15.3})
    lines = note.splitlines()
    assert lines[0] == "**Test results**"
    assert "| sigma30 | 21.27 | 0.7402 |" in lines and "| sigma50 | 19.10 | 0.6100 |" in lines
    assert "val_psnr" not in note and "15.3" not in note  # the search's validation score is not a test result
    assert lines[-1] == "Params 0.0127 M, Mult-Adds 11.30 G, latency 75.4 ms, search 17 s"


def test_the_runs_view_groups_trials_by_setting_with_the_test_metrics_as_columns(tmp_path):
    import json

    from orchestrator import invocation

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exp = tr.experiment_id(uri, "views", tr.artifact_root(uri))
    invocation.share_runs_view(uri, exp, ["psnr_sigma30", "ssim_sigma30"])
    state = json.loads(tr.client(uri).get_experiment(exp).tags[invocation.SHARED_VIEW_TAG + invocation.RUNS_VIEW])
    assert state["selectedColumns"][-2:] == ["metrics.`psnr_sigma30`", "metrics.`ssim_sigma30`"]
    assert state["groupBy"]["groupByKeys"] == [{"mode": "param", "groupByData": "setting"}]
    assert [chart["metricKey"] for chart in state["compareRunCharts"]] == ["psnr_sigma30", "ssim_sigma30"]
    assert invocation.runs_table_link(uri, exp).endswith(f"/#/experiments/{exp}/runs?viewStateShareKey=results"
                                                          "&workflowType=machine_learning")
