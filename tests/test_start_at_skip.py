"""``retrain.start_at_skip``: a residual network starts as exactly its skip path (the input, bicubic for SR);
a network without residual learning is left as it was; a space without a skip path refuses the switch."""

import dataclasses
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from orchestrator.presets import preset_config
from search_space import load_genotype
from search_space.autoderain import hand_designed
from trials.retrain import build

GOLDEN = Path(__file__).parent / "golden"
CPU = torch.device("cpu")


def hinas_net(task: str, residual: bool, start_at_skip: bool, condition: int):
    cfg = preset_config("smoke", task, {"retrain.start_at_skip": start_at_skip})
    genotype = dataclasses.replace(load_genotype(GOLDEN / f"{task}-hinas" / "genotype.json"), residual=residual)
    net, _ = build(genotype, cfg, condition, CPU)
    return net.eval()


@torch.no_grad()
def test_a_residual_sr_net_starts_as_bicubic_upscaling():
    x = torch.rand(1, 3, 12, 16)
    bicubic = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.equal(hinas_net("sr", True, True, 4)(x), bicubic)
    assert not torch.allclose(hinas_net("sr", True, False, 4)(x), bicubic, atol=1e-3)  # the switch is what does it


@torch.no_grad()
def test_a_residual_denoiser_starts_as_the_identity():
    x = torch.rand(1, 1, 24, 24)
    assert torch.equal(hinas_net("denoise", True, True, 30)(x), x)


def test_a_net_without_residual_learning_is_left_as_built():
    on, off = hinas_net("sr", False, True, 4), hinas_net("sr", False, False, 4)
    assert on.skip_output_layer() is None
    for (name, a), b in zip(on.state_dict().items(), off.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert on.head.body[-1].weight.abs().sum() > 0


@torch.no_grad()
def test_the_derainer_starts_as_its_rainy_input():
    cfg = preset_config("smoke", "derain", {"space.name": "autoderain", "retrain.start_at_skip": True})
    net, _ = build(hand_designed(cfg.space), cfg, 1, CPU)
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(net.eval()(x), x)


def test_a_space_without_a_skip_path_refuses_it_naming_the_spaces_that_have_one():
    message = "retrain.start_at_skip needs networks with a skip path, which space dlsr's lack; set it false, " \
              "or use a space that has one: autoderain, hinas"
    with pytest.raises(ValueError, match=re.escape(message)):
        preset_config("smoke", "sr", {"space.name": "dlsr", "retrain.start_at_skip": True})
