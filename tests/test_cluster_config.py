"""ray_cluster.yaml: Ray's own launcher validation passes, without contacting a cloud, and the security settings hold.

Ray's `ray up` runs `prepare_config` (merge with the provider's defaults.yaml, per-type min/max workers) and then
`validate_config` (ray-schema.json via jsonschema, plus head-type and min/max checks) around its cloud-specific
bootstrap step; the two pure steps are what this file calls (ray.autoscaler._private.util).
"""

import copy
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CONFIG_PATH = Path(__file__).resolve().parents[1] / "ray_cluster.yaml"


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(CONFIG_PATH.read_text())


@pytest.fixture
def config(raw) -> dict:
    prepared = prepare_config(copy.deepcopy(raw))
    validate_config(prepared)
    return prepared


def _validate(cfg: dict) -> None:
    validate_config(prepare_config(copy.deepcopy(cfg)))


def _one_command(commands: list[str], needle: str) -> str:
    hits = [c for c in commands if needle in c]
    assert len(hits) == 1, f"expected one command containing {needle!r}, got {hits}"
    return hits[0]


def _flag(command: str, name: str) -> str | None:
    """Value of --name=value or --name value in a shell command line."""
    words = shlex.split(command)
    for i, word in enumerate(words):
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
        if word == name and i + 1 < len(words):
            return words[i + 1]
    return None


def test_ray_validation_passes(config):
    assert config["provider"]["type"] == "aws"
    assert config["head_node_type"] in config["available_node_types"]
    # prepare_config merged setup_commands into the per-role lists: the package is installed on every node.
    for role in ("head_setup_commands", "worker_setup_commands"):
        assert any("pip install" in c and "-e ~/hinas" in c for c in config[role]), role


@pytest.mark.parametrize(
    "break_it, error",
    [
        (lambda c: c.update(max_worker=3), jsonschema.ValidationError),  # unknown top-level key (typo)
        (lambda c: c["available_node_types"]["gpu_worker"].update(resource={"GPU": 1}), jsonschema.ValidationError),
        (lambda c: c["available_node_types"]["gpu_worker"]["resources"].update(GPU=0.5), jsonschema.ValidationError),
        (lambda c: c.update(head_node_setup_commands=["true"]), jsonschema.ValidationError),
        (lambda c: c.update(head_node_type="no_such_type"), ValueError),
        (lambda c: c["available_node_types"]["gpu_worker"].update(min_workers=99), ValueError),
    ],
    ids=["unknown-key", "unknown-node-key", "fractional-gpu", "misnamed-commands", "bad-head-type", "min>max"],
)
def test_ray_validation_rejects_broken_copies(raw, break_it, error):
    broken = copy.deepcopy(raw)
    break_it(broken)
    with pytest.raises(error):
        _validate(broken)


def test_no_trials_on_head(config):
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"].get("CPU") == 0
    assert head["resources"].get("GPU", 0) == 0
    assert head["max_workers"] == 0


def test_gpu_workers_one_gpu_each_and_sane_scaling(config):
    workers = {n: t for n, t in config["available_node_types"].items() if n != config["head_node_type"]}
    assert workers
    for name, node_type in workers.items():
        assert node_type["resources"]["GPU"] == 1, name
        assert node_type["resources"]["CPU"] >= 1, name
        assert 0 <= node_type["min_workers"] <= node_type["max_workers"] <= config["max_workers"], name
        assert node_type["max_workers"] >= 1, name
    assert sum(t["min_workers"] for t in workers.values()) <= config["max_workers"]


def test_dashboard_on_loopback_and_token_auth(config):
    head_start = _one_command(config["head_start_ray_commands"], "ray start --head")
    assert _flag(head_start, "--dashboard-host") == "127.0.0.1"
    assert "RAY_AUTH_MODE=token" in head_start
    worker_start = _one_command(config["worker_start_ray_commands"], "ray start --address")
    assert "RAY_AUTH_MODE=token" in worker_start
    # Every node gets the token at Ray's default path.
    assert config["file_mounts"].get("~/.ray/auth_token") == "~/.ray/auth_token"


def test_mlflow_on_loopback(config):
    server = _one_command(config["head_start_ray_commands"], "mlflow server")
    assert _flag(server, "--host") == "127.0.0.1"
    assert _flag(server, "--port") == "5000"
    assert _flag(server, "--backend-store-uri").startswith("sqlite:////")
    # Workers reach it through a tunnel that ends on the head's loopback, never through a public bind.
    tunnel = _one_command(config["worker_start_ray_commands"], "ssh ")
    assert "-L 127.0.0.1:5000:127.0.0.1:5000" in tunnel
    key_line = _one_command(config["head_setup_commands"], "authorized_keys ||")
    assert 'permitopen=\\"127.0.0.1:5000\\"' in key_line and "restrict" in key_line


def test_nothing_binds_all_interfaces(raw):
    text = CONFIG_PATH.read_text()
    commands = [c for key, value in raw.items() if key.endswith("_commands") for c in value]
    for command in commands:
        assert not re.search(r"0\.0\.0\.0|host[= ]::", command), command
    assert not re.search(r"^\s*CidrIp", text, re.M), "no open inbound rule in the active config"


@pytest.mark.parametrize("package", ["ray", "mlflow"])
def test_cluster_pins_match_local_versions(config, package):
    """The cluster must run the Ray (and MLflow) version of the machine that submits to it."""
    pins = {
        m.group(1)
        for c in config["head_setup_commands"] + config["worker_setup_commands"]
        for m in re.finditer(rf'"?{package}(?:\[[^\]]*\])?==([0-9][^"\s]*)', c)
    }
    assert pins == {version(package)}
