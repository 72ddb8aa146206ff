"""DLSR's search method, loss, schedules and warm start; reproducible and resumable like every trial."""

import json

import numpy as np
import pytest
import torch
from helpers_pipeline import Interrupt, StopAt, comparable, read_json

from orchestrator.presets import preset_config
from search_space import NetworkIO
from search_space.dlsr import DerivedNet, Genotype
from trials.config import with_overrides
from trials.losses import high_frequency, l1_hfen_loss
from trials.optim import multistep_factor
from trials.pipeline import make_method, run_trial
from trials.retrain import conditions, warm_start
from trials.search import weight_lr
from trials.tasks import TASKS
from trials.workload import prepare

# The smoke preset shrunk: 3 epochs of 3 steps, architecture steps from epoch 2, 12 retraining iterations
# per scale (x2, then x4 warm-started from it), one test image.
TINY = {"space.name": "dlsr", "search.epochs": 3, "search.steps_per_epoch": 3, "search.eval_from_epoch": 3,
        "method.warmup_epochs": 1, "retrain.iterations": 12, "retrain.checkpoint_every": 4,
        "retrain.base_width": 8, "data.max_test_images": 1}


def tiny_config(**overrides):
    return preset_config("smoke", "sr", {**TINY, **{k.replace("__", "."): v for k, v in overrides.items()}})


def arch_gradients(cfg) -> list[torch.Tensor]:
    torch.manual_seed(0)
    method = make_method(cfg, torch.device("cpu"))
    work = prepare(cfg)
    loss = method.arch_loss(work.train_a.batch(0), work.train_w.batch(0), "test")
    return torch.autograd.grad(loss, method.supernet.arch_parameters())


def test_the_authors_detached_penalty_changes_no_gradient_and_the_differentiable_one_does():
    detached, off = arch_gradients(tiny_config()), arch_gradients(tiny_config(method__param_penalty="off"))
    steered = arch_gradients(tiny_config(method__param_penalty="differentiable", method__penalty_weight=100.0))
    assert all(torch.equal(a, b) for a, b in zip(detached, off, strict=True))
    assert not torch.allclose(detached[0], steered[0])  # alpha feels the penalty
    assert all(torch.equal(a, b) for a, b in zip(detached[1:], steered[1:], strict=True))  # beta does not


def test_arch_loss_switch_val_only_differs_from_train_plus_val():
    both, val = arch_gradients(tiny_config()), arch_gradients(tiny_config(method__arch_loss="val"))
    assert not torch.allclose(both[0], val[0])


def test_l1_hfen_loss():
    torch.manual_seed(0)
    target = torch.rand(2, 3, 24, 24)
    pred = (target + 0.05 * torch.randn_like(target)).requires_grad_()
    total, terms = l1_hfen_loss(pred, target, hfen_weight=0.2, pixel_range=255.0)
    assert terms["l1"] == pytest.approx(255 * float((pred - target).detach().abs().mean()), rel=1e-5)
    assert float(total) == pytest.approx(float(terms["l1"] + 0.2 * terms["hfen"]), rel=1e-6)
    assert l1_hfen_loss(target, target, 0.2, 255.0)[0] == 0
    assert high_frequency(target).shape == (2, 1, 20, 20)  # 5x5 blur without padding, channels summed
    torch.testing.assert_close(high_frequency(3 * target), high_frequency(target))  # each map over its max
    total.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_multistep_schedules_follow_the_authors_milestones():
    assert [multistep_factor(e, 1000, (0.2, 0.4, 0.6), 0.5) for e in (0, 199, 200, 400, 999)] == \
        [1, 1, 0.5, 0.25, 0.125]
    cfg = preset_config("paper", "sr", {"space.name": "dlsr"}).search
    assert weight_lr(cfg, 0) == 5e-4 and weight_lr(cfg, 600) == 5e-4 / 8


def test_warm_start_copies_all_but_the_upsampler():
    genotype = Genotype(cell=("conv_1x1", "sep_conv_7x7", "sep_conv_5x5"), inputs=((1, 2), (2, 3), (2, 4), (4, 5)))
    x2, x4 = DerivedNet(genotype, NetworkIO(3, 3, 2), 8), DerivedNet(genotype, NetworkIO(3, 3, 4), 8)
    copied = warm_start(x4, x2.state_dict())
    assert copied == len(x2.state_dict()) - 2  # upsample.0.weight and .bias differ in shape
    for key, value in x4.state_dict().items():
        assert torch.equal(value, x2.state_dict()[key]) != key.startswith("upsample."), key
    cfg = tiny_config(task__scales="4,2")
    assert conditions(cfg) == [2, 4]  # the warm start's source is retrained first
    with pytest.raises(ValueError, match="warm_start_from=3 is not one of the task's conditions"):
        with_overrides(cfg, {"retrain.warm_start_from": 3})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("dlsr") / "run"
    return run_dir, run_trial(tiny_config(), run_dir)


def test_dlsr_trial_is_reproducible_and_resumes_to_the_same_result(uninterrupted, tmp_path):
    reference_dir, reference = uninterrupted
    again = run_trial(tiny_config(), tmp_path / "again")
    assert comparable(again) == comparable(reference)
    resumed_dir = tmp_path / "resumed"
    for phase, count in (("search", 2), ("retrain", 4)):  # killed after epoch 2, then inside x4's retraining
        with pytest.raises(Interrupt):
            run_trial(tiny_config(), resumed_dir, StopAt(phase, count))
    assert comparable(run_trial(tiny_config(), resumed_dir)) == comparable(reference)
    assert read_json(resumed_dir / "genotype.json") == read_json(reference_dir / "genotype.json")


def test_dlsr_trial_writes_complexity_and_the_last_epochs_architecture(uninterrupted):
    run_dir, metrics = uninterrupted
    summary = json.loads((run_dir / "search.json").read_text())
    assert summary["method"] == "dlsr" and summary["selected_val_psnr"] == summary["best_val_psnr"]
    assert metrics["mult_adds_g_scale2"] > metrics["mult_adds_g_scale4"] > 0
    assert metrics["params_m_scale4"] > metrics["params_m_scale2"] > 0  # x4's upsampler is larger
    weights = np.load(run_dir / "arch_weights.npz")
    assert sorted(weights) == ["alpha", "beta_B3", "beta_B4", "beta_B5", "beta_B6"]
    assert weights["alpha"].shape == (3, 9) and np.allclose(weights["alpha"].sum(-1), 1)


def test_sr_data_folder_with_flickr2k_is_read_as_df2k(tmp_path):
    sr = TASKS.get("sr")
    assert sr.data_overrides(str(tmp_path), None)["data.kind"] == "div2k"
    (tmp_path / "Flickr2K" / "Flickr2K_HR").mkdir(parents=True)
    assert sr.data_overrides(str(tmp_path), None)["data.kind"] == "df2k"


def test_alpha_and_beta_probabilities_are_logged_every_epoch():
    metrics = make_method(tiny_config(), torch.device("cpu")).epoch_metrics()
    assert len(metrics) == 3 * 9 + (2 + 3 + 4 + 5)
    assert sum(v for k, v in metrics.items() if k.startswith("alpha_1_")) == pytest.approx(1)
    assert sum(v for k, v in metrics.items() if k.startswith("beta_B6_")) == pytest.approx(1)
    assert "alpha_3_sep_conv_5x5" in metrics and "beta_B4_B3" in metrics
