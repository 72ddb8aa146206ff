"""Sizes no machine holds fail before work (issue 31): the meta-device estimate of a search step, the space
size limits, and the estimate against what a real forward saves."""

import pytest
import torch

from orchestrator import memory
from orchestrator.presets import preset_config


def _saved_bytes_on_cpu(cfg) -> int:
    """What autograd keeps for backward in a real forward of one sample (weights random, as at init)."""
    io = cfg.components.task.search_io()
    saved = 0

    def count(tensor):
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    net = cfg.components.space.supernet(cfg.space, io)
    with torch.autograd.graph.saved_tensors_hooks(count, lambda tensor: tensor):
        net(torch.rand(1, io.in_channels, cfg.search.crop_size, cfg.search.crop_size))
    return saved


@pytest.mark.parametrize(("task", "space"), [("denoise", "hinas"), ("sr", "dlsr"), ("derain", "autoderain")])
def test_the_meta_device_estimate_is_what_a_real_forward_saves(task, space):
    cfg = preset_config("smoke", task, {"space.name": space})
    size = memory.footprint(cfg)
    assert size.saved_per_sample_mb * 2**20 == pytest.approx(_saved_bytes_on_cpu(cfg), rel=0.02)
    step = memory.search_step_gib(cfg)
    assert step == pytest.approx((size.saved_per_sample_mb * cfg.search.batch_size + 4 * size.weights_mb) / 1024)


def test_a_batch_no_machine_holds_is_refused_with_the_estimate_and_the_limit():
    small = preset_config("smoke", "denoise")
    memory.check({"fits": small}, memory_gib=1.0)  # a few MB: nothing said
    huge = preset_config("smoke", "denoise", {"search.batch_size": 100000})
    with pytest.raises(ValueError, match=r"setting huge: one search step needs about [\d,]+ GiB \(search.batch_size="
                                         r"100000 crops of 32x32 px.*more than 2 x this machine's 24 GiB"):
        memory.check({"huge": huge}, memory_gib=24.0)


@pytest.mark.parametrize(("task", "space", "key", "value", "limit"), [
    ("denoise", "hinas", "space.layers", 10**6, 100), ("denoise", "hinas", "space.nodes", 100, 16),
    ("sr", "dlsr", "space.cells", 10**4, 100), ("derain", "autoderain", "space.levels", 30, 8)])
def test_structural_counts_beyond_a_spaces_limit_fail_when_the_config_is_built(task, space, key, value, limit):
    overrides = {"space.name": space, key: value}
    with pytest.raises(ValueError, match=rf"{key}={value} is above {limit}, the most the \w+ space builds"):
        preset_config("smoke", task, overrides)


@pytest.mark.parametrize(("task", "space"), [("denoise", "hinas"), ("sr", "dlsr"), ("derain", "autoderain")])
def test_a_retraining_batch_no_machine_holds_is_refused_before_the_search_derives_its_network(task, space):
    """The derived network is unknown before the search: a sampled genotype of the space stands for it, with
    GENOTYPE_SPREAD of margin, so the smoke and paper batches pass and an absurd one is refused."""
    for preset in ("smoke", "paper"):
        memory.check({"fits": preset_config(preset, task, {"space.name": space})}, memory_gib=24.0)
    huge = preset_config("smoke", task, {"space.name": space, "retrain.batch_size": 10**6})
    with pytest.raises(ValueError, match=r"setting huge: one retraining step needs about [\d,]+ GiB \(retrain."
                                         r"batch_size=1000000 crops .*more than 8 x this machine's 24 GiB"):
        memory.check({"huge": huge}, memory_gib=24.0)


def test_the_retraining_estimate_is_what_the_sampled_network_saves_in_a_real_forward():
    import random

    from trials.config import retrain_input_crop

    cfg = preset_config("smoke", "denoise")
    task, space = cfg.components.task, cfg.components.space
    condition = max(task.conditions(), key=lambda c: retrain_input_crop(cfg, c))
    net = space.network(space.sample(cfg.space, random.Random(0)), task.io(condition), cfg.retrain.base_width)
    crop = retrain_input_crop(cfg, condition)
    real = memory.measure(net, task.io(condition).in_channels, crop)  # on the CPU, real weights
    assert memory.retrain_footprint(cfg).saved_per_sample_mb == pytest.approx(real.saved_per_sample_mb, rel=0.02)
