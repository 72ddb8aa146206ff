"""Every (task, space, method) an ablation runs goes through the smoke pipeline end to end; where numbers were recorded
before the registries existed (tests/golden/, HiNAS and RSWS on denoising and x4 SR, seed 0), the same
command gives the same genotype and the same metrics: to the last bit on a machine whose kernels round as a
recording's did (tests/golden/<combination>/machines/ holds more machines; tests/golden/record.py adds one),
and the same genotype with search scores within 1e-3 elsewhere."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis.pictures import PICTURES
from orchestrator.experiments import EXPERIMENTS, experiments_for_space
from orchestrator.presets import preset_config
from search_space import SPACES, load_genotype
from trials import metric_names as M
from trials.pipeline import run_trial
from trials.saved_network import load_network
from trials.tasks import TASKS

GOLDEN = Path(__file__).with_name("golden")
RECORDED = json.loads((GOLDEN / "RECORDED.json").read_text())
TIMING = {"search_time_s", "retrain_time_s", "inference_ms_per_image", "peak_memory_mb", "search_gpu_hours",
          M.PEAK_RSS_MB, M.PEAK_CUDA_MB, M.SEARCH_DEVICE_HOURS, M.RETRAIN_DEVICE_HOURS}
SUMMARY_TIMING = {"search_time_s", "search_gpu_hours", "peak_memory_mb", M.PEAK_RSS_MB, M.PEAK_CUDA_MB}
# Written by genotype.json before the registries, now given when a network is built (or not architecture).
V1_RUN_TIME_FIELDS = ("task", "in_channels", "scale", "base_width", "lwas", "cell_sharing", "format_version")


def ablation_combinations() -> list[tuple[str, str, str]]:
    """(task, space, method) of every setting of every ablation on each of its tasks (what users run; other
    compatible combinations build through the same registries)."""
    found = {}
    for _, experiments in EXPERIMENTS.items():
        for build in experiments.ablations.values():
            for task in build(None).tasks:
                for setting in build(task).settings:
                    space = setting.overrides.get("space.name", experiments.space)
                    method = setting.overrides.get("method.name", experiments_for_space(space).method)
                    found[(task, space, method)] = None
    return sorted(found)


COMBINATIONS = ablation_combinations()


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda c: "-".join(c))
def smoke_run(request, tmp_path_factory):
    return run_smoke(*request.param, tmp_path_factory.mktemp("-".join(request.param)))


def run_smoke(task: str, space: str, method: str, run_dir: Path):
    """One smoke trial, seed 0, as the golden runs were recorded: (config, run folder, metrics)."""
    overrides = {"space.name": space, "method.name": method, "seed": 0}
    if (GOLDEN / f"{task}-{method}").is_dir() and space == "hinas":  # the smoke preset as it was recorded
        overrides |= RECORDED["smoke_since"]["overrides"]
    cfg = preset_config("smoke", task, overrides)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the recording (OMP_NUM_THREADS=1): results are then bitwise repeatable
    try:
        metrics = run_trial(cfg, run_dir)
    finally:
        torch.set_num_threads(threads)
    return cfg, run_dir, metrics


def test_registries_cover_the_built_systems():
    assert {(t, "hinas", m) for t in ("denoise", "sr") for m in ("hinas", "rsws")} <= set(COMBINATIONS)
    assert {("sr", "dlsr", "dlsr"), ("derain", "autoderain", "mdarts"), ("derain", "autoderain", "darts"),
            ("derain", "autoderain", "fixed"), ("derain", "hinas", "hinas")} <= set(COMBINATIONS)


def test_smoke_pipeline_runs_and_keeps_each_retrained_network(smoke_run):
    cfg, run_dir, metrics = smoke_run
    task = TASKS.get(cfg.task.name)
    test_sets = list(cfg.data.test_sets) or ["builtin"]
    for condition in task.conditions(cfg.task):
        for test_set in test_sets:
            key = task.metric_condition(test_set, condition)
            assert 5 < metrics[f"psnr_{key}"] < 60 and 0 < metrics[f"ssim_{key}"] <= 1, key
        net, info = load_network(run_dir / f"network_{task.condition_column}{condition}.pt")
        io = task.io(cfg.task, condition)
        assert info["io"] == io and info["width"] == cfg.retrain.base_width and info["condition"] == condition
        out = net(torch.rand(1, io.in_channels, 20, 20))
        assert out.shape == (1, io.out_channels, 20 * io.scale, 20 * io.scale)
    genotype = load_genotype(run_dir / "genotype.json")
    assert genotype.space == cfg.space.name and metrics["params_m"] > 0


def golden_dir(cfg) -> Path | None:
    folder = GOLDEN / f"{cfg.task.name}-{cfg.method.name}"
    return folder if cfg.space.name == "hinas" and folder.is_dir() else None


def recordings(golden: Path) -> list[Path]:
    """Where a combination's numbers were recorded: the first machine (before the registries), then machines
    whose CPU kernels round otherwise (``machines/<name>/``, the same code recorded later: tests/golden/record.py)."""
    machines = golden / "machines"
    return [golden, *sorted(p for p in machines.iterdir() if p.is_dir())] if machines.is_dir() else [golden]


def recording_for(golden: Path, searched: dict) -> Path | None:
    """The recording whose machine rounds as this one does, told by the search's own scores agreeing to the
    last bit (torch's CPU capability does not tell: an AMD EPYC reporting AVX512 rounds otherwise than the first
    machine). None under another torch, or on a machine that none of them ran on."""
    if torch.__version__.split("+")[0] != RECORDED["torch"]:
        return None
    return next((r for r in recordings(golden) if searched_scores(json.loads((r / "search.json").read_text()))
                 == searched), None)


def searched_scores(summary: dict) -> dict:
    """A search summary without its timings and memory: what the same code and kernels repeat bit for bit."""
    return {k: v for k, v in summary.items() if k not in SUMMARY_TIMING}


def close_to(recorded: dict, ours: dict) -> bool:
    """The same keys, floats within 1e-3 of the recorded ones and everything else (method, best epoch) equal."""
    return ours.keys() == recorded.keys() and all(
        ours[k] == (pytest.approx(v, rel=1e-3) if isinstance(v, float) else v) for k, v in recorded.items())


def architecture(genotype: dict) -> dict:
    """A genotype.json's architecture: without the space, the format and the fields v1 wrote at run time."""
    return {k: v for k, v in genotype.items() if k not in (*V1_RUN_TIME_FIELDS, "space")}


def trained_scores(metrics: dict) -> dict:
    """Final metrics without timings, memory and complexity (counted after the first recording)."""
    return {k: v for k, v in metrics.items()
            if k not in TIMING and not k.startswith((M.MULT_ADDS_G, M.PARAMS_M + "_", M.LATENCY_MS))}


def test_same_numbers_as_before_the_registries(smoke_run):
    cfg, run_dir, metrics = smoke_run
    golden = golden_dir(cfg)
    if golden is None:
        recorded = {(t, "hinas", m) for t in ("denoise", "sr") for m in ("hinas", "rsws")}
        assert (cfg.task.name, cfg.space.name, cfg.method.name) not in recorded
        return  # a combination that did not exist before the registries: nothing was recorded
    old = json.loads((golden / "genotype.json").read_text())
    new = json.loads((run_dir / "genotype.json").read_text())
    assert new["space"] == "hinas" and new["format_version"] == 2
    assert architecture(new) == architecture(old), "genotype changed"
    io = TASKS.get(cfg.task.name).search_io(cfg.task)
    assert (old["task"], old["in_channels"], old["scale"]) == (cfg.task.name, io.in_channels, io.scale)
    assert (old["base_width"], old["cell_sharing"]) == (cfg.retrain.base_width, cfg.space.cell_sharing)
    assert old["lwas"] == (len(new["cells"]) > 1)
    expected = json.loads((golden / "metrics.json").read_text())
    summary = json.loads((run_dir / "search.json").read_text())
    expected_summary = json.loads((golden / "search.json").read_text())
    complexity = {k for k in metrics if k.startswith((M.MULT_ADDS_G, M.PARAMS_M + "_", M.LATENCY_MS))}  # since
    memory = {M.PEAK_RSS_MB, M.PEAK_CUDA_MB} & metrics.keys()  # split from peak_memory_mb since
    memory |= {M.SEARCH_DEVICE_HOURS, M.RETRAIN_DEVICE_HOURS}  # the checklist's cost, reported since
    metrics = {k: v for k, v in metrics.items() if k not in memory}
    assert metrics.keys() - complexity == expected.keys()
    assert metrics[M.MULT_ADDS_G] > 0 and metrics[M.LATENCY_MS] > 0
    assert len(complexity) == 2 + 3 * len(TASKS.get(cfg.task.name).conditions(cfg.task))
    assert expected_summary.keys() <= summary.keys()
    ours, ours_summary = trained_scores(metrics), searched_scores({k: summary[k] for k in expected_summary})
    recording = recording_for(golden, ours_summary)
    if recording is not None:  # same seed, config and kernels: the same numbers, to the last bit
        assert ours == trained_scores(json.loads((recording / "metrics.json").read_text()))
    else:  # other kernels round the search's last bits otherwise, and 80 SGD steps at lr 0.05 amplify that
        # (about 1 dB); the genotype above must still match, and the search's scores closely
        assert close_to(searched_scores(expected_summary), ours_summary), ours_summary
        assert ours.keys() == trained_scores(expected).keys() and all(map(np.isfinite, ours.values()))


@pytest.mark.parametrize("task_name", TASKS.names())
def test_every_task_lists_its_degraded_input_first_and_once_among_its_references(task_name):
    """Tables flag rows below the input reference (analysis.tables); runs logged before the role tag existed
    rely on the input being listed, and so logged, first."""
    task = TASKS.get(task_name)
    roles = [reference.role for reference in task.references(task.config_class())]
    assert roles[0] == M.ROLE_INPUT and roles.count(M.ROLE_INPUT) == 1
    assert set(roles) <= {M.ROLE_INPUT, M.ROLE_METHOD}


def test_every_space_has_its_pictures():
    """Trials draw the derived architecture through PICTURES by the genotype's space: a space without its
    pictures module would fail every trial at its first genotype."""
    assert set(PICTURES.names()) == set(SPACES.names())
