"""The random-architecture baseline: a seeded uniform draw from each space, no supernet training, retrained
and evaluated by the same pipeline as a searched genotype (issue 29)."""

import json

import pytest
import torch
from helpers_pipeline import torch_threads

from orchestrator.presets import preset_config
from search_space import SPACES, load_genotype
from trials import metric_names as M
from trials.methods import METHODS
from trials.pipeline import TrialHooks, make_method, run_trial

# (space, task) pairs, one per space; each retrains briefly at one condition on one test image.
SPACES_AND_TASKS = [("hinas", "denoise"), ("dlsr", "sr"), ("autoderain", "derain")]
TINY = {"method.name": "random_arch", "retrain.iterations": 6, "retrain.checkpoint_every": 3, "data.max_test_images": 1}
ONE_CONDITION = {"denoise": {"task.sigmas": "30", "task.search_sigmas": "30"},
                 "sr": {"task.scales": "4", "retrain.warm_start_from": None}, "derain": {}}


@pytest.fixture(autouse=True)
def one_torch_thread():
    with torch_threads(1):
        yield


def random_config(space: str, task: str, seed: int = 0, **extra):
    return preset_config("smoke", task, {"space.name": space, **TINY, **ONE_CONDITION[task], "seed": seed, **extra})


class Recorder(TrialHooks):
    def __init__(self):
        self.epochs = 0

    def search_epoch(self, metrics, run_dir):
        self.epochs += 1


@pytest.mark.parametrize(("space", "task"), SPACES_AND_TASKS)
def test_the_random_baseline_retrains_a_drawn_genotype_without_a_search_epoch(tmp_path, space, task):
    hooks = Recorder()
    metrics = run_trial(random_config(space, task), tmp_path, hooks)
    genotype = load_genotype(tmp_path / "genotype.json")
    summary = json.loads((tmp_path / "search.json").read_text())
    assert genotype.space == space
    assert hooks.epochs == 0 and summary["method"] == "random_arch" and summary["best_epoch"] is None
    assert any(k.startswith("psnr_") for k in metrics) and list(tmp_path.glob("network_*.pt"))
    assert not (tmp_path / "arch_weights.npz").exists()  # no architecture weights were trained
    assert metrics[M.SEARCH_DEVICE_HOURS] < 1e-3 < metrics[M.RETRAIN_DEVICE_HOURS] * 3600  # cost: retraining only


@pytest.mark.parametrize(("space", "task"), SPACES_AND_TASKS)
def test_the_draw_is_a_function_of_the_seed_and_spans_the_space(space, task):
    def drawn(seed: int) -> str:
        return make_method(random_config(space, task, seed), torch.device("cpu")).current_genotype().to_json()

    assert drawn(3) == drawn(3)
    assert len({drawn(seed) for seed in range(6)}) >= 3  # six seeds, six draws: not one architecture


@pytest.mark.parametrize(("space", "task"), SPACES_AND_TASKS)
def test_the_random_baseline_serves_every_space_that_has_a_sampler(space, task):
    assert METHODS.get("random_arch").requires <= SPACES.get(space).capabilities


def test_a_fixed_architecture_runs_no_search_epoch_whatever_the_search_settings(tmp_path):
    """Issue 26: `fixed` no longer needs presets that shrink its no-op search to one step."""
    hooks = Recorder()
    cfg = preset_config("smoke", "derain", {"space.name": "autoderain", **TINY, "method.name": "fixed",
                                            "search.epochs": 50})
    run_trial(cfg, tmp_path, hooks)
    assert hooks.epochs == 0 and load_genotype(tmp_path / "genotype.json") == SPACES.get(
        "autoderain").named_genotypes(cfg.space)["hand"]
