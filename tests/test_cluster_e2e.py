"""A real two-node Ray cluster on loopback with token auth, a real MLflow server, and the smoke ablation
submitted through the Jobs API, as docs/cluster.md describes it (slow: a few minutes on 2 CPUs).

The head and the second node are separate `ray start` processes on this machine (1 CPU each, own ports,
own temp folders), so the two smoke trials (1 CPU each) can only run at the same time on different nodes.
Everything the test starts runs in its own process groups and is stopped by id at the end: never
`ray stop`, which would also stop other Ray instances on this machine.
"""

import contextlib
import importlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import ray  # noqa: F401 - puts Ray's bundled psutil on sys.path
from mlflow import MlflowClient

from orchestrator.tracking import PARENT_TAG
from trials import metric_names as M

psutil = importlib.import_module("psutil")

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
RAY, MLFLOW = shutil.which("ray", path=str(VENV_BIN)), shutil.which("mlflow", path=str(VENV_BIN))
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
JOB_TIMEOUT_S = 1200  # two smoke trials in parallel take ~1-3 min; generous for a loaded CI machine
SEEDS = (0, 1)


def free_ports(n: int) -> list[int]:
    """n distinct ports free on every interface (Ray binds some of its servers to all of them)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def http(url: str, token: str | None = None, timeout: float = 10.0) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def wait_for(what: str, check, timeout: float, interval: float = 1.0):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except OSError as err:  # not up yet
            last = err
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s (last error: {last})")


@dataclass
class Cluster:
    tmp: Path
    token: str
    env: dict[str, str]
    gcs_port: int
    dashboard_port: int
    mlflow_port: int
    agent_ports: dict[str, int]
    groups: list[int] = field(default_factory=list)  # process groups (= sessions) of what we started

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def mlflow(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    def ray_cli(self, *argv: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([RAY, *argv], env=env or self.env, capture_output=True, text=True, timeout=timeout,
                              cwd=self.tmp)

    def start_group(self, argv: list[str], log: Path) -> subprocess.Popen:
        """A process in a new session; every daemon it spawns stays in that process group."""
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.tmp,
                                    start_new_session=True)
        self.groups.append(proc.pid)
        return proc

    def processes(self) -> list:
        """Everything alive that this test started: its process groups, anything naming its temp folder,
        and their descendants."""
        found = {}
        for p in psutil.process_iter(["pid", "cmdline"]):
            try:
                if os.getpgid(p.pid) in self.groups or os.getsid(p.pid) in self.groups or any(
                        str(self.tmp) in arg for arg in p.info["cmdline"] or ()):
                    found[p.pid] = p
            except (OSError, psutil.Error):
                continue
        for p in list(found.values()):
            with contextlib.suppress(psutil.Error):
                found.update({c.pid: c for c in p.children(recursive=True)})
        found.pop(os.getpid(), None)
        return list(found.values())

    def listeners(self) -> list[tuple[str, str, int]]:
        """(process name, address, port) of every TCP socket our processes listen on."""
        procs = {p.pid: p for p in self.processes()}
        out = []
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.pid in procs:
                try:
                    name = procs[conn.pid].name()
                except psutil.Error:
                    name = "?"
                out.append((name, conn.laddr.ip, conn.laddr.port))
        return out

    def stop(self) -> None:
        procs = self.processes()
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=20)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=10)


def cluster_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "MLFLOW_"))}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # the job's `python` is the venv's
               RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="module")
def cluster():
    if not (RAY and MLFLOW):
        pytest.skip(f"`ray` or `mlflow` missing from {VENV_BIN}")
    # Short path: Ray's unix sockets live under the temp folder (107-byte limit on socket paths).
    tmp = Path(tempfile.mkdtemp(prefix="hinas-rc-", dir="/tmp"))
    token = secrets.token_hex(32)
    (gcs, dash, mlflow_port, head_nm, head_om, head_client, head_agent, head_agent_grpc, head_rt, head_metrics,
     w_nm, w_om, w_agent, w_agent_grpc, w_rt, w_metrics) = free_ports(16)
    c = Cluster(tmp, token, cluster_env(token), gcs, dash, mlflow_port,
                {"head_agent_http": head_agent, "head_runtime_env": head_rt, "head_metrics": head_metrics,
                 "worker_agent_http": w_agent, "worker_runtime_env": w_rt, "worker_metrics": w_metrics})
    start = time.perf_counter()
    try:
        (tmp / "artifacts").mkdir()
        c.start_group([MLFLOW, "server", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
                       "--artifacts-destination", str(tmp / "artifacts"), "--host", "127.0.0.1",
                       "--port", str(mlflow_port), "--workers", "1"], tmp / "mlflow.log")
        common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--num-gpus=0", "--disable-usage-stats",
                  "--min-worker-port=0", "--max-worker-port=0"]
        head = c.start_group([
            RAY, "start", "--head", f"--port={gcs}", *common, f"--temp-dir={tmp / 'head'}",
            "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
            f"--node-manager-port={head_nm}", f"--object-manager-port={head_om}",
            f"--ray-client-server-port={head_client}", f"--dashboard-agent-listen-port={head_agent}",
            f"--dashboard-agent-grpc-port={head_agent_grpc}", f"--runtime-env-agent-port={head_rt}",
            f"--metrics-export-port={head_metrics}", '--resources={"head_node": 1}'], tmp / "ray_head.log")
        assert head.wait(timeout=240) == 0, (tmp / "ray_head.log").read_text()[-3000:]
        worker = c.start_group([
            RAY, "start", f"--address=127.0.0.1:{gcs}", *common, f"--temp-dir={tmp / 'worker'}",
            f"--node-manager-port={w_nm}", f"--object-manager-port={w_om}",
            f"--dashboard-agent-listen-port={w_agent}", f"--dashboard-agent-grpc-port={w_agent_grpc}",
            f"--runtime-env-agent-port={w_rt}", f"--metrics-export-port={w_metrics}",
            '--resources={"second_node": 1}'], tmp / "ray_worker.log")
        assert worker.wait(timeout=240) == 0, (tmp / "ray_worker.log").read_text()[-3000:]
        wait_for("two alive Ray nodes", lambda: len(alive_nodes(c)) == 2, timeout=120, interval=2)
        wait_for("MLflow /health", lambda: http(f"{c.mlflow}/health")[0] == 200, timeout=120)
        print(f"\ncluster + MLflow up in {time.perf_counter() - start:.0f} s ({tmp})")
        yield c
    finally:
        c.stop()
        leftovers = c.processes()
        shutil.rmtree(tmp, ignore_errors=True)
        assert not leftovers, f"processes left running: {leftovers}"


def alive_nodes(c: Cluster) -> list[dict]:
    """The cluster's alive nodes from the dashboard's state API (with the token)."""
    status, body = http(f"{c.dashboard}/api/v0/nodes?limit=100", c.token)
    if status != 200:
        return []
    return [n for n in json.loads(body)["data"]["result"]["result"] if n["state"] == "ALIVE"]


@pytest.fixture(scope="module")
def ablation_job(cluster):
    """The smoke ablation (setting lwas, seeds 0 and 1) submitted from the repository root, as a user would."""
    c = cluster
    job_id = f"hinas-cluster-e2e-{secrets.token_hex(4)}"
    start = time.perf_counter()
    submit = c.ray_cli(
        "job", "submit", "--address", c.dashboard, "--submission-id", job_id, "--working-dir", str(REPO),
        "--no-wait", "--", "python", "-m", "orchestrator", "ablation", "lwas", "--preset", "smoke",
        "--settings", "lwas", "--seeds", ",".join(map(str, SEEDS)), "--tracking-uri", c.mlflow,
        "--storage", str(c.tmp / "ray_results"), "--name", "cluster")
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]

    def finished() -> str | None:
        status, body = http(f"{c.dashboard}/api/jobs/{job_id}", c.token)
        state = json.loads(body)["status"] if status == 200 else None
        return state if state in ("SUCCEEDED", "FAILED", "STOPPED") else None

    state = wait_for(f"job {job_id}", finished, timeout=JOB_TIMEOUT_S, interval=5)
    logs = json.loads(http(f"{c.dashboard}/api/jobs/{job_id}/logs", c.token)[1])["logs"]
    print(f"job {job_id}: {state} after {time.perf_counter() - start:.0f} s")
    return job_id, state, logs


def test_nodes_are_two_raylets_with_their_own_resources(cluster):
    nodes = alive_nodes(cluster)
    assert len(nodes) == 2
    assert sorted(n["is_head_node"] for n in nodes) == [False, True]
    head = next(n for n in nodes if n["is_head_node"])
    second = next(n for n in nodes if not n["is_head_node"])
    assert head["resources_total"].get("head_node") == 1 and "second_node" not in head["resources_total"]
    assert second["resources_total"].get("second_node") == 1 and "head_node" not in second["resources_total"]
    assert head["resources_total"]["CPU"] == second["resources_total"]["CPU"] == 1


def test_dashboard_and_jobs_api_require_the_token(cluster):
    assert http(f"{cluster.dashboard}/api/jobs/", cluster.token)[0] == 200
    status, body = http(f"{cluster.dashboard}/api/jobs/")
    assert status == 401, body
    status, body = http(f"{cluster.dashboard}/api/jobs/", secrets.token_hex(32))
    assert status == 403, body
    assert http(f"{cluster.dashboard}/api/v0/nodes")[0] == 401


def test_cli_without_the_token_is_refused(cluster):
    """`ray job list` with the mode on but another token: the Jobs API refuses it; with ours it works."""
    wrong = {**cluster.env, "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    refused = cluster.ray_cli("job", "list", "--address", cluster.dashboard, env=wrong, timeout=120)
    assert refused.returncode != 0
    assert "403" in refused.stdout + refused.stderr or "Authentication" in refused.stdout + refused.stderr
    assert cluster.ray_cli("job", "list", "--address", cluster.dashboard, timeout=120).returncode == 0


def test_agents_on_the_node_address_require_the_token(cluster):
    """The dashboard agent and runtime-env agent listen on the node's address (Ray turns 127.0.0.1 into it):
    without the token they refuse; only the raylet health check is open."""
    node_ip = alive_nodes(cluster)[0]["node_ip"]
    for name in ("head_agent_http", "worker_agent_http"):
        port = cluster.agent_ports[name]
        assert http(f"http://{node_ip}:{port}/api/job_agent/jobs/nope/logs")[0] == 401, name
        assert http(f"http://{node_ip}:{port}/api/local_raylet_healthz")[0] == 200, name
    for name in ("head_runtime_env", "worker_runtime_env"):
        assert http(f"http://{node_ip}:{cluster.agent_ports[name]}/get_or_create_runtime_env")[0] == 401, name


def test_gcs_refuses_a_client_with_another_token(cluster):
    """The GCS listens on all interfaces (Ray 2.60 has no bind option): token auth is what guards it."""
    wrong = {**cluster.env, "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    code = f"import ray; ray.init(address='127.0.0.1:{cluster.gcs_port}'); print('CONNECTED')"
    result = subprocess.run([sys.executable, "-c", code], env=wrong, capture_output=True, text=True, timeout=180,
                            cwd=cluster.tmp)
    assert result.returncode != 0 and "CONNECTED" not in result.stdout, result.stdout[-2000:]
    assert "auth" in (result.stdout + result.stderr).lower(), result.stderr[-2000:]


def test_dashboard_and_mlflow_listen_on_loopback_only(cluster):
    listeners = cluster.listeners()
    print("\nlisteners:\n" + "\n".join(f"  {name:24s} {ip}:{port}" for name, ip, port in sorted(listeners)))
    for port in (cluster.dashboard_port, cluster.mlflow_port):
        addresses = {ip for _, ip, p in listeners if p == port}
        assert addresses and addresses <= LOOPBACK, (port, addresses)
    exposed = [(n, ip, p) for n, ip, p in listeners if ip not in LOOPBACK]
    assert not [x for x in exposed if x[2] in (cluster.dashboard_port, cluster.mlflow_port)]
    assert all("mlflow" not in n and "gunicorn" not in n and "uvicorn" not in n for n, _, _ in exposed), exposed


def test_ablation_job_succeeds(ablation_job, cluster):
    job_id, state, logs = ablation_job
    assert state == "SUCCEEDED", logs[-5000:]
    status = cluster.ray_cli("job", "status", "--address", cluster.dashboard, job_id, timeout=120)
    text = status.stdout + status.stderr
    assert status.returncode == 0 and f"Job '{job_id}' succeeded" in text, text
    assert f"{len(SEEDS)} of {len(SEEDS)} trials finished" in logs, logs[-5000:]


def test_trials_ran_on_both_nodes_and_mlflow_holds_every_run(ablation_job, cluster):
    job_id, state, logs = ablation_job
    assert state == "SUCCEEDED", logs[-5000:]
    client = MlflowClient(cluster.mlflow)
    experiment = client.get_experiment_by_name("hinas-lwas-denoise")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if PARENT_TAG not in r.data.tags]
    children = [r for r in runs if PARENT_TAG in r.data.tags and M.TAG_REFERENCE not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == len(SEEDS)
    assert {r.data.tags[PARENT_TAG] for r in children} == {parents[0].info.run_id}
    assert sorted(r.data.tags[M.TAG_SEED] for r in children) == [str(s) for s in SEEDS]
    node_ids = {n["node_id"] for n in alive_nodes(cluster)}
    assert len(node_ids) == 2
    # Every result a trial reported (retries included) names the node it ran on: both nodes ran trials.
    reports = {}
    for path in (cluster.tmp / "ray_results" / "cluster").glob("*/result.json"):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        reports[lines[-1]["mlflow_run_id"]] = lines
    assert len(reports) == len(SEEDS)
    assert {r["node_id"] for lines in reports.values() for r in lines} == node_ids
    trial_nodes = [r.data.tags.get(M.TAG_NODE_ID) for r in children]
    assert set(trial_nodes) <= node_ids, (trial_nodes, node_ids)
    for run in children:  # the tag names the node of the trial's last attempt
        assert run.data.tags[M.TAG_NODE_ID] == reports[run.info.run_id][-1]["node_id"]
    if all(len({r["node_id"] for r in lines}) == 1 for lines in reports.values()):  # no attempt moved nodes
        assert len(set(trial_nodes)) == 2, trial_nodes
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags[M.TAG_SETTING] == "lwas"
        assert M.psnr("sigma30") in run.data.metrics and M.PARAMS_M in run.data.metrics
        names = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"genotype.json", "metrics.json", "config.json"} <= names, names
        folder = Path(client.download_artifacts(run.info.run_id, "genotype.json", str(cluster.tmp / run.info.run_id)))
        assert json.loads(folder.read_text())
    # Artifacts went through the server into its --artifacts-destination, not into any client-side folder.
    assert list((cluster.tmp / "artifacts").rglob("genotype.json"))
    assert (cluster.tmp / "ray_results" / "cluster").is_dir()
