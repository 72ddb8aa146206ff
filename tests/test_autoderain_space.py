"""The AutoDerain space (autoderain-spec 2-4): sizes, the U's shapes, derivation, the derived net against the
supernet's path, and MDARTS's one-path gradient against evaluating every op."""

import random

import pytest
import torch
import torch.nn.functional as F

from search_space import SPACES, NetworkIO, count_parameters, genotype_from_json
from search_space.autoderain import (
    OPS,
    AutoDerainConfig,
    Block,
    DerivedNet,
    Genotype,
    MixedRSEB,
    Supernet,
    discrete_mix,
    hand_designed,
    num_architectures,
    sample_genotype,
)
from trials.methods.base import frozen
from trials.saved_memory import saved_tensor_bytes

RGB = NetworkIO(3, 3, 1)
SMALL = AutoDerainConfig(width=4, per_stage=1)


class OneHot(torch.autograd.Function):
    """prox_C1 with the straight-through gradient: the reference the gated forward must equal."""

    @staticmethod
    def forward(ctx, a):
        return F.one_hot(a.argmax(-1), a.shape[-1]).to(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


def full_mix(x, a, candidates):
    """Every candidate evaluated and scaled by its 0/1 weight: NASP's own arch step, DARTS-level memory."""
    weights = OneHot.apply(a)
    return sum(w * op(x) for w, op in zip(weights, candidates, strict=True))


def test_sizes_match_the_spec_prototype():
    cfg = AutoDerainConfig()
    net = Supernet(cfg, RGB)
    assert sum(p.numel() for p in net.weight_parameters()) == 4_147_843  # the spec's 4.14M
    assert count_parameters(DerivedNet(hand_designed(cfg), RGB, 32)) == 1_101_955  # the spec's 1.10M
    assert sum(p.numel() for p in net.arch_parameters()) == 10 * 2 * 5 + 10 * 2
    assert num_architectures(cfg) == 50**10


@pytest.mark.parametrize("size", [(16, 16), (13, 22), (7, 9)])
def test_the_u_restores_at_the_input_size(size):
    torch.manual_seed(0)
    net = DerivedNet(hand_designed(SMALL), RGB, 4)
    x = torch.rand(2, 3, *size)
    assert net(x).shape == x.shape


def test_the_net_predicts_the_rain_layer():
    """output = input - tail(...): with the tail zeroed the net is the identity."""
    net = DerivedNet(hand_designed(SMALL), RGB, 4)
    torch.nn.init.zeros_(net.net.tail.weight)
    torch.nn.init.zeros_(net.net.tail.bias)
    x = torch.rand(1, 3, 12, 12)
    assert torch.equal(net(x), x)


def test_architecture_weights_start_in_the_box_with_ties_broken():
    torch.manual_seed(0)
    net = Supernet(AutoDerainConfig(), RGB)
    for a in net.arch_parameters():
        a = a.detach()
        assert float(a.min()) >= 0 and float(a.max()) <= 1
        assert float((a - 0.5).abs().max()) < 0.01
    first_ops = {block.a for block in net.derive().blocks}
    assert len(first_ops) > 1  # not every argmax resolves to candidate 0


def test_genotype_json_round_trip_and_validation():
    g = sample_genotype(AutoDerainConfig(), random.Random(3))
    assert genotype_from_json(g.to_json()) == g
    with pytest.raises(ValueError, match="has 10 blocks"):
        Genotype(g.blocks[:3])
    with pytest.raises(ValueError, match="unknown autoderain ops"):
        Genotype((Block("conv_7x7", "conv_3x3", True),) * 10)


def test_derivation_is_argmax_per_slot_and_se_by_comparison():
    torch.manual_seed(0)
    net = Supernet(AutoDerainConfig(), RGB)
    with torch.no_grad():
        net.a_conv.zero_()
        net.a_conv[3, 0, 2] = 1
        net.a_conv[3, 1, 4] = 0.7
        net.a_se.zero_()
        net.a_se[5, 1] = 0.6
    g = net.derive()
    assert g.blocks[3] == Block(OPS[2], OPS[4], False)
    assert g.blocks[0] == Block(OPS[0], OPS[0], False)  # ties: the first op, SE off
    assert g.blocks[5].se and sum(b.se for b in g.blocks) == 1


def test_sampler_is_uniform_per_slot():
    cfg = AutoDerainConfig()
    rng = random.Random(0)
    counts = {op: 0 for op in OPS}
    se = 0
    for _ in range(400):
        g = sample_genotype(cfg, rng)
        for b in g.blocks:
            counts[b.a] += 1
            se += b.se
    expected = 400 * 10 / len(OPS)
    assert all(abs(c - expected) < 0.1 * expected for c in counts.values()), counts
    assert abs(se - 2000) < 150


def test_derived_network_equals_the_supernets_selected_path():
    torch.manual_seed(1)
    cfg = AutoDerainConfig(width=8)
    net = Supernet(cfg, RGB)
    x = torch.rand(2, 3, 20, 24)
    for genotype in (net.derive(), sample_genotype(cfg, random.Random(5)), hand_designed(cfg)):
        derived = net.derived_network(genotype)
        assert count_parameters(derived) == count_parameters(DerivedNet(genotype, RGB, 8))
        with torch.no_grad():
            assert torch.equal(derived(x), net.forward_path(x, genotype))
    net.relaxation = "discrete"
    with torch.no_grad():
        assert torch.equal(net(x), net.forward_selected(x))  # the gated forward is the derived path's value


def test_gate_gradient_equals_full_evaluation_on_one_slot():
    """Gradients to a, to the slot's input and to the weights: the one-path forward and every op scaled by its
    0/1 weight agree (unselected ops: no gradient here, zeros there)."""
    torch.manual_seed(0)
    block = MixedRSEB(OPS, 6, 4)
    x = torch.rand(2, 6, 9, 9, requires_grad=True)
    a = torch.rand(len(OPS), requires_grad=True)
    target = torch.rand(2, 6, 9, 9)
    runs = []
    for mix in (discrete_mix, full_mix):
        a.grad = x.grad = None
        block.zero_grad(set_to_none=True)
        (mix(x, a, block.conv_a) - target).pow(2).sum().backward()
        weights = [[None if p.grad is None else p.grad.clone() for p in op.parameters()] for op in block.conv_a]
        runs.append((a.grad.clone(), x.grad.clone(), weights))
    (ours_a, ours_x, ours_w), (full_a, full_x, full_w) = runs
    torch.testing.assert_close(ours_a, full_a, rtol=1e-6, atol=1e-6)
    assert torch.count_nonzero(ours_a) == len(OPS)
    assert torch.equal(ours_x, full_x)
    selected = int(a.argmax())
    for k, (ours, full) in enumerate(zip(ours_w, full_w, strict=True)):
        if k == selected:
            assert all(torch.equal(o, f) for o, f in zip(ours, full, strict=True))
        else:
            assert all(o is None for o in ours) and all(torch.count_nonzero(f) == 0 for f in full)


def test_supernet_architecture_gradient_equals_full_evaluation():
    """The whole U: gradients to a_conv and a_se of the one-path forward and of every-op evaluation."""
    torch.manual_seed(2)
    net = Supernet(AutoDerainConfig(width=4), RGB)
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)

    def arch_grads(mix_fn):
        net.zero_grad(set_to_none=True)
        with frozen(net.weight_parameters()):
            out = net.net(x, lambda i, block, h: block.mixed(h, *net._slot_weights(i), mix_fn))
            F.l1_loss(out, y).backward()
        return [a.grad.clone() for a in net.arch_parameters()]

    ours, full = arch_grads(discrete_mix), arch_grads(full_mix)
    for g, f in zip(ours, full, strict=True):
        assert torch.count_nonzero(f) > 0
        torch.testing.assert_close(g, f, rtol=1e-5, atol=1e-8)


def test_selected_path_step_gives_gradients_to_the_selected_ops_only():
    torch.manual_seed(0)
    net = Supernet(SMALL, RGB)
    genotype = net.derive()
    F.l1_loss(net.forward_selected(torch.rand(2, 3, 8, 8)), torch.rand(2, 3, 8, 8)).backward()
    choices = net.choices(genotype)
    for block, (a, b, se) in zip(net.net.blocks, choices, strict=True):
        for slot, chosen in ((block.conv_a, a), (block.conv_b, b)):
            for k, op in enumerate(slot):
                assert all((p.grad is not None) == (k == chosen) for p in op.parameters())
        assert all((p.grad is not None) == se for p in block.se.parameters())
    assert all(a.grad is None for a in net.arch_parameters())


def test_one_path_keeps_the_activations_of_one_model():
    """What backward keeps (deterministic, unlike peak RSS; bench/autoderain_memory.py measures peaks): the
    MDARTS architecture step about the derived net's training step, softmax DARTS several times more."""
    torch.manual_seed(0)
    net = Supernet(AutoDerainConfig(width=8), RGB)
    x = torch.rand(2, 3, 32, 32)
    derived = net.derived_network(net.derive())
    model = saved_tensor_bytes(lambda: derived(x)) / 2**20
    with frozen(net.weight_parameters()):
        net.relaxation = "discrete"
        mdarts = saved_tensor_bytes(lambda: net(x)) / 2**20
        net.relaxation = "softmax"
        darts = saved_tensor_bytes(lambda: net(x)) / 2**20
    assert mdarts <= 1.1 * model, (mdarts, model)
    assert darts >= 3 * mdarts, (darts, mdarts)


def test_space_registry_entry():
    space = SPACES.get("autoderain")
    assert space.named_genotypes(SMALL)["hand"] == hand_designed(SMALL)
    with pytest.raises(ValueError, match="own size"):
        space.check(SMALL, NetworkIO(3, 3, 2))
    text = space.describe(SMALL, RGB, 4, samples=10)
    assert "discrete architectures" in text and "hand-designed" in text
