"""The result cache (issue 29): its keys change with anything that changes the numbers and with nothing else,
and a trial that adopts a twin's results ends with the numbers it would have computed."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from helpers_pipeline import torch_threads

from orchestrator.presets import preset_config
from trials import metric_names as M
from trials import result_cache
from trials.config import with_overrides
from trials.pipeline import TrialHooks, run_trial
from trials.workload import prepare

CPU = torch.device("cpu")
TINY = {"task.sigmas": "30", "task.search_sigmas": "30", "retrain.iterations": 8, "retrain.checkpoint_every": 4,
        "data.max_test_images": 1, "search.epochs": 2, "search.eval_from_epoch": 2, "search.steps_per_epoch": 2}


@pytest.fixture(autouse=True)
def one_torch_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def base():
    cfg = preset_config("smoke", "denoise", TINY)
    return cfg, prepare(cfg).datasets(cfg)


def keys(cfg, datasets, genotype=None) -> tuple[str, str]:
    genotype = genotype or {"cells": "any"}
    return result_cache.trial_key(cfg, datasets, CPU), result_cache.retrain_key(cfg, genotype, datasets, CPU)


@pytest.mark.parametrize("change", [{"seed": 1}, {"retrain.iterations": 9}, {"eval.quantize": False},
                                    {"task.sigmas": "50"}, {"retrain.lr": 1e-3}, {"space.base_width": 6},
                                    {"loss.lam": 0.5}, {"data.max_test_images": 2}])
def test_a_change_of_seed_budget_protocol_or_retraining_misses_both_keys(base, change):
    cfg, datasets = base
    assert set(keys(with_overrides(cfg, change), datasets)).isdisjoint(keys(cfg, datasets))


def test_the_search_changes_the_trial_key_only_and_checkpointing_changes_neither(base):
    cfg, datasets = base
    trial, retrain = keys(cfg, datasets)
    searched_longer = keys(with_overrides(cfg, {"search.epochs": 3}), datasets)
    assert searched_longer[0] != trial and searched_longer[1] == retrain
    assert keys(with_overrides(cfg, {"retrain.checkpoint_every": 2, "retrain.log_every": 1}), datasets) == (trial,
                                                                                                          retrain)


def test_other_pixels_another_genotype_or_device_miss(base):
    cfg, datasets = base
    trial, retrain = keys(cfg, datasets)
    changed = [dict(d, digest="0" * 64) if d["context"] == "test" else d for d in datasets]
    assert trial not in keys(cfg, changed) and retrain not in keys(cfg, changed)
    assert keys(cfg, datasets, {"cells": "other"})[1] != retrain
    moved = [dict(d, source="/elsewhere") for d in datasets]  # the same pixels from another folder: a hit
    assert keys(cfg, moved) == (trial, retrain)
    assert result_cache.trial_key(cfg, datasets, torch.device("cuda")) != trial


class Store(TrialHooks):
    """A store of finished run folders by key: what the orchestrator's MLflow hooks do, without MLflow."""

    def __init__(self, finished: dict[str, Path] | None = None):
        self.twins, self.keys, self.adopted_kinds, self.retrained = dict(finished or {}), {}, [], 0

    def keyed(self, kind, key):
        self.keys[kind] = key

    def reusable(self, kind, key, into):
        if key not in self.twins:
            return False
        for path in self.twins[key].iterdir():
            if path.is_file():
                shutil.copy2(path, into / path.name)
        return True

    def adopted(self, kind):
        self.adopted_kinds.append(kind)

    def retrain_progress(self, *args):
        self.retrained += 1


def scores(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k.startswith(("psnr_", "ssim_", M.PARAMS_M))}


def test_a_twin_trial_is_adopted_whole_and_a_twin_genotype_skips_retraining_with_the_same_numbers(tmp_path):
    cfg = preset_config("smoke", "denoise", {**TINY, "method.name": "random_arch"})
    first = Store()
    computed = run_trial(cfg, tmp_path / "first", first)
    store = {key: tmp_path / "first" for key in first.keys.values()}

    again = Store(store)  # the same trial: adopted whole, nothing retrained
    reused = run_trial(cfg, tmp_path / "again", again)
    assert again.adopted_kinds == ["trial"] and again.retrained == 0 and reused == computed
    assert (tmp_path / "again" / "genotype.json").read_text() == (tmp_path / "first" / "genotype.json").read_text()

    # The drawn genotype as a fixed architecture: another search, the same retraining, so its results are reused;
    # computed without the cache, they are the same numbers.
    fixed = {**TINY, "method.name": "fixed", "method.genotype": str(tmp_path / "first" / "genotype.json")}
    twin = Store(store)
    adopted = run_trial(preset_config("smoke", "denoise", fixed), tmp_path / "fixed", twin)
    assert twin.adopted_kinds == ["retrain"] and twin.retrained == 0
    recomputed = run_trial(preset_config("smoke", "denoise", fixed), tmp_path / "fixed-computed", Store())
    assert scores(adopted) == scores(recomputed) == scores(computed)
    assert adopted[M.SEARCH_TIME_S] == json.loads((tmp_path / "fixed" / "search.json").read_text())["search_time_s"]


def test_an_incomplete_twin_is_not_adopted(tmp_path):
    cfg = preset_config("smoke", "denoise", {**TINY, "method.name": "random_arch"})
    first = Store()
    run_trial(cfg, tmp_path / "first", first)
    for network in (tmp_path / "first").glob("network_*.pt"):
        network.unlink()
    again = Store({key: tmp_path / "first" for key in first.keys.values()})
    run_trial(cfg, tmp_path / "again", again)
    assert again.adopted_kinds == [] and again.retrained > 0
