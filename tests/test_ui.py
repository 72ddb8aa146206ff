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
