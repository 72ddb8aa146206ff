"""MDARTS, softmax DARTS and the fixed method on the AutoDerain space, and the derain task: the proximal step
keeps a in its box and moves only a, the weight step trains only the selected ops, trials reproduce and
resume, and the run records that its settings are our design."""

import json

import numpy as np
import pytest
import torch
from helpers_pipeline import Interrupt, StopAt, comparable, read_json

from orchestrator.presets import preset_config
from search_space.autoderain import hand_designed
from trials.config import inferred_tags
from trials.metrics import Protocol, evaluate
from trials.pipeline import make_method, run_trial
from trials.tasks import TASKS
from trials.workload import prepare

# The smoke preset shrunk: 3 epochs of 3 steps, 20 retraining iterations, one test image.
TINY = {"search.epochs": 3, "search.steps_per_epoch": 3, "search.eval_from_epoch": 2, "retrain.iterations": 20,
        "retrain.checkpoint_every": 5, "data.max_test_images": 1}


def tiny_config(method: str = "mdarts", **overrides):
    # the smoke preset's uniform 4-epoch warm-up needs 5 epochs: here NASP's own (selected ops), 1 epoch
    warmup = {"method.warmup_epochs": 1, "method.warmup_sampling": "selected"} if method == "mdarts" else {}
    extra = {k.replace("__", "."): v for k, v in overrides.items()}
    return preset_config("smoke", "derain",
                         {"space.name": "autoderain", "method.name": method, **TINY, **warmup, **extra})


def method_and_work(cfg):
    torch.manual_seed(0)
    return make_method(cfg, torch.device("cpu")), prepare(cfg)


def snapshot(params) -> list[torch.Tensor]:
    return [p.detach().clone() for p in params]


def test_mdarts_architecture_step_moves_only_a_and_keeps_it_in_the_box():
    method, work = method_and_work(tiny_config(method__a_lr=0.3))
    net = method.supernet
    weights = snapshot(net.weight_parameters())
    start = snapshot(net.arch_parameters())
    for step in range(5):
        method.arch_step(work.train_a.batch(step), "test", work.train_w.batch(step))
    assert all(torch.equal(a, b) for a, b in zip(weights, net.weight_parameters(), strict=True))
    moved = [a.detach() for a in net.arch_parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(start, moved, strict=True))
    assert all(float(a.min()) >= 0 and float(a.max()) <= 1 for a in moved)
    assert any(bool((a == 0).any() or (a == 1).any()) for a in moved)  # the box projection was active


def test_mdarts_weight_step_trains_only_the_selected_ops():
    method, work = method_and_work(tiny_config())
    net = method.supernet
    choices = net.choices(net.derive())
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    arch = snapshot(net.arch_parameters())
    method.weight_step(work.train_w.batch(0), 0, "test")
    changed = {name for name, p in net.named_parameters() if not torch.equal(before[name], p.detach())}
    for i, (a, b, se) in enumerate(choices):
        for slot, chosen in (("conv_a", a), ("conv_b", b)):
            for k in range(5):
                names = {n for n in before if n.startswith(f"net.blocks.{i}.{slot}.{k}.")}
                assert (names <= changed) if k == chosen else not (names & changed), (i, slot, k)
        assert bool({n for n in before if n.startswith(f"net.blocks.{i}.se.")} & changed) == se
    assert all(torch.equal(a, b) for a, b in zip(arch, net.arch_parameters(), strict=True))


def test_darts_runs_every_op_and_trains_all_weights():
    method, work = method_and_work(tiny_config("darts"))
    net = method.supernet
    assert net.relaxation == "softmax"
    before = snapshot(net.net.blocks[0].conv_a.parameters())
    method.weight_step(work.train_w.batch(0), 0, "test")
    assert all(not torch.equal(a, b) for a, b in zip(before, net.net.blocks[0].conv_a.parameters(), strict=True))


@pytest.mark.parametrize("kind", ["l2", "params"])
def test_regulariser_pushes_a_of_larger_ops_down(kind):
    method, _ = method_and_work(tiny_config(method__regulariser=kind, method__reg_weight=1.0))
    net = method.supernet
    (grad,) = torch.autograd.grad(method.regulariser(), [net.a_conv])
    cost = net.op_parameter_counts()[:, None, :].expand_as(grad)
    if kind == "params":  # R = sum prox(a) * p / max p, differentiated at the one-hot point: p / max p for all
        assert torch.allclose(grad, cost / cost.max())
    else:
        assert torch.allclose(grad, 2 * net.a_conv.detach() * cost / cost.sum(-1, keepdim=True))


def test_exploration_is_a_pure_function_of_seed_and_step():
    greedy = [method_and_work(tiny_config(method__e_greedy=1.0))[0] for _ in range(2)]
    draws = [[m.training_genotype(step) for step in range(4)] for m in greedy]
    assert draws[0] == draws[1] and len(set(draws[0])) == 4
    plain, _ = method_and_work(tiny_config())
    assert all(plain.training_genotype(step) == plain.supernet.derive() for step in range(4))
    warm, _ = method_and_work(tiny_config(method__warmup_epochs=1, method__warmup_sampling="uniform"))
    warm.begin_epoch(0)
    assert warm.trains_arch() is False and warm.training_genotype(0) != warm.supernet.derive()
    warm.begin_epoch(1)
    assert warm.trains_arch() is True and warm.training_genotype(0) == warm.supernet.derive()


def test_fixed_method_resolves_named_and_saved_genotypes(tmp_path):
    cfg = tiny_config("fixed")
    method, _ = method_and_work(cfg)
    assert method.current_genotype() == hand_designed(cfg.space)
    path = tmp_path / "g.json"
    hand_designed(cfg.space).save(path)
    assert method_and_work(tiny_config("fixed", method__genotype=str(path)))[0].genotype == hand_designed(cfg.space)
    with pytest.raises(ValueError, match="neither a genotype of space autoderain"):
        tiny_config("fixed", method__genotype="nope")
    with pytest.raises(ValueError, match="needs relaxation"):
        preset_config("smoke", "derain", {"space.name": "hinas", "method.name": "mdarts"})


def test_derain_task_rain_is_fresh_per_training_patch_and_fixed_elsewhere():
    cfg = tiny_config()
    work = prepare(cfg)
    x0, y0 = work.train_w.batch(0)
    assert not torch.equal(x0, y0) and torch.equal(work.train_w.batch(0)[0], x0)  # rainy, reproducible
    assert not torch.equal(work.train_w.batch(1)[0], work.train_w.batch(1)[1])
    again = prepare(tiny_config(seed=5))
    test, test_again = work.test_sets["builtin"], again.test_sets["builtin"]
    assert all(np.array_equal(a, b) for a, b in zip(test.lr[1], test_again.lr[1], strict=True))  # one test set
    rainy, clean = test.pairs(1)[0]
    assert 15 < evaluate(rainy, clean, TASKS.get("derain").protocol(cfg.task))[0] < 35
    assert TASKS.get("derain").protocol(cfg.task) == Protocol(y_channel=True, shave=0)
    val = work.val_pairs
    assert all(not np.array_equal(x, y) for x, y in val)


def test_derain_task_config_and_names():
    task = TASKS.get("derain")
    assert task.parse_condition("rain100l") == ("rain100l", 1) and task.parse_condition("sigma30") is None
    assert task.metric_condition("Rain100L", 1) == "rain100l" and task.condition_key(1) == "derain"
    with pytest.raises(ValueError, match="metric_space"):
        tiny_config(task__metric_space="YUV")
    rgb = tiny_config(task__metric_space="RGB")
    assert task.protocol(rgb.task) == Protocol(y_channel=False, shave=0)
    with pytest.raises(ValueError, match="own size"):
        preset_config("smoke", "sr", {"space.name": "autoderain", "method.name": "mdarts"})


def test_runs_are_tagged_as_our_design():
    tags = inferred_tags(tiny_config())
    assert tags["autoderain_inferred"] == "1"
    defaults = tags["autoderain_inferred_defaults"].split(",")
    assert "space.skip" in defaults and "method.regulariser" in defaults and "space.width" not in defaults
    assert inferred_tags(preset_config("smoke", "denoise")) == {}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("mdarts") / "run"
    return run_dir, run_trial(tiny_config(), run_dir)


def test_mdarts_trial_is_reproducible_and_resumes_to_the_same_result(uninterrupted, tmp_path):
    reference_dir, reference = uninterrupted
    assert comparable(run_trial(tiny_config(), tmp_path / "again")) == comparable(reference)
    resumed_dir = tmp_path / "resumed"
    for phase, count in (("search", 2), ("retrain", 2)):  # killed after epoch 2, then inside the retraining
        with pytest.raises(Interrupt):
            run_trial(tiny_config(), resumed_dir, StopAt(phase, count))
    assert comparable(run_trial(tiny_config(), resumed_dir)) == comparable(reference)
    assert read_json(resumed_dir / "genotype.json") == read_json(reference_dir / "genotype.json")


def test_mdarts_trial_writes_genotype_metrics_and_box_valued_weights(uninterrupted):
    run_dir, metrics = uninterrupted
    genotype = json.loads((run_dir / "genotype.json").read_text())
    assert genotype["space"] == "autoderain" and len(genotype["blocks"]) == 10
    assert metrics["psnr_builtin"] > 10 and 0 < metrics["ssim_builtin"] <= 1
    assert metrics["mult_adds_g_derain"] > 0 and metrics["params_m_derain"] > 0
    weights = np.load(run_dir / "arch_weights.npz")
    assert set(weights.files) == {"a_conv", "a_se"}
    assert weights["a_conv"].min() >= 0 and weights["a_conv"].max() <= 1
    assert json.loads((run_dir / "search.json").read_text())["method"] == "mdarts"
