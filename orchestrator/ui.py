"""`--serve-ui`: the MLflow UI for a run's SQLite store, started on loopback before the trials, so that the link
the console prints at the start opens at once. It keeps serving after the ablation ends (its own session):
the console says how to stop it."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from orchestrator.shell import tool


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def serve(uri: str, port: int, log: Path, timeout_s: float = 60.0) -> str:
    """Starts `mlflow ui` for the SQLite store ``uri`` on 127.0.0.1:``port`` and waits until it answers; the
    line to print. A busy port or a server store is not an error: the line says what to do instead."""
    if not uri.startswith("sqlite:///"):
        return f"MLflow UI: {uri} is a server already (--serve-ui serves SQLite stores)"
    if port_in_use(port):
        return (f"MLflow UI: port {port} is in use, so --serve-ui started no server; if it is not this store's UI, "
                f"stop it or run: {tool('mlflow')} ui --backend-store-uri {uri} --port {port}")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "mlflow"), "ui",
                                    "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    if not _answers(f"http://127.0.0.1:{port}/health", process, timeout_s):
        process.kill()
        return f"MLflow UI: `mlflow ui` did not start within {timeout_s:.0f} s (its log: {log})"
    return f"MLflow UI: serving {uri} at http://127.0.0.1:{port} (pid {process.pid}; stop it with: kill {process.pid})"


def _answers(url: str, process: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False
