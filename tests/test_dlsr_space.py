"""The dlsr search space: fidelity to the authors' networks, derivation, sampler, single path, mixed layer."""

import itertools
import random
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from search_space import SPACES, NetworkIO, count_parameters, genotype_from_json
from search_space.dlsr import PRIMITIVES, DLSRConfig, Genotype, Supernet, input_choices, sample_genotype
from search_space.dlsr.cell import ESA
from search_space.dlsr.supernet import MixedLayer
from trials.complexity import input_size, mult_adds

# The two genotypes the authors' checkpoints encode (dlsr-spec section 3).
PARA = Genotype(cell=("sep_conv_3x3", "sep_conv_5x5", "sep_conv_5x5"), inputs=((1, 2), (2, 3), (3, 4), (1, 3)))
BETA21 = Genotype(cell=("conv_1x1", "sep_conv_7x7", "sep_conv_5x5"), inputs=((1, 2), (2, 3), (2, 4), (4, 5)))


def network(genotype, scale, width=48):
    return SPACES.get("dlsr").network(genotype, NetworkIO(3, 3, scale), width)


@pytest.mark.parametrize(("genotype", "scale", "width", "params"), [
    (PARA, 2, 48, 327_804), (BETA21, 2, 48, 322_620), (BETA21, 4, 48, 338_208), (BETA21, 2, 18, 56_268),
])
def test_derived_networks_have_the_authors_parameter_counts(genotype, scale, width, params):
    assert count_parameters(network(genotype, scale, width)) == params


def test_mult_adds_match_the_papers_68g_at_x2_and_18g_at_x4():
    x2 = mult_adds(network(BETA21, 2), 3, input_size(2))
    x4 = mult_adds(network(BETA21, 4), 3, input_size(4))
    assert input_size(2) == (360, 640) and input_size(3) == (240, 427) and input_size(4) == (180, 320)
    assert abs(x2 / 1e9 - 67.31) < 0.01  # the authors' checkpoint measured conv-only (dlsr-spec section 3)
    assert abs(x4 / 1e9 - 17.72) < 0.01


def test_supernet_has_the_authors_weight_count():
    net = Supernet(DLSRConfig(), NetworkIO(3, 3, 2))
    assert count_parameters(net) - sum(p.numel() for p in net.arch_parameters()) == 4_212_924


@torch.no_grad()
def _score(net, genotype):
    alpha = F.log_softmax(net.alpha, -1)
    total = sum(alpha[i, PRIMITIVES.index(op)] for i, op in enumerate(genotype.cell))
    for beta, chosen in zip(net.betas, genotype.inputs, strict=True):
        total = total + F.softmax(beta, -1)[[j - 1 for j in chosen]].sum()
    return float(total)


@pytest.mark.parametrize("seed", range(5))
def test_derivation_equals_brute_force(seed):
    """derive() is the genotype with the most probable ops and the most weighted input sets, over all of them."""
    torch.manual_seed(seed)
    cfg = DLSRConfig(width=4, cells=5)
    net = Supernet(cfg, NetworkIO(3, 3, 2))
    with torch.no_grad():
        for p in net.arch_parameters():
            p.normal_()
    cells = itertools.product(PRIMITIVES, repeat=3)
    wirings = list(itertools.product(*(input_choices(cfg, k) for k in range(3, cfg.cells + 1))))
    best = max((Genotype(cell=c, inputs=w, cells=cfg.cells) for c in cells for w in wirings),
               key=lambda g: _score(net, g))
    assert net.derive() == best


def test_uniform_sampler_is_uniform():
    cfg = DLSRConfig(cells=5)
    rng, draws = random.Random(0), 18_000
    genotypes = [sample_genotype(cfg, rng) for _ in range(draws)]
    ops = Counter(g.cell[1] for g in genotypes)
    b5 = Counter(g.inputs[2] for g in genotypes)  # 6 input sets of B5 among B1..B4
    for counts, options in ((ops, len(PRIMITIVES)), (b5, len(input_choices(cfg, 5)))):
        expected = draws / options
        chi2 = sum((counts[k] - expected) ** 2 / expected for k in counts)
        assert len(counts) == options and chi2 < 30  # p < 1e-4 for <= 8 degrees of freedom


def test_single_path_equals_the_derived_network_with_the_same_weights():
    torch.manual_seed(0)
    net = Supernet(DLSRConfig(width=8), NetworkIO(3, 3, 3)).eval()
    x = torch.rand(1, 3, 16, 17)
    for genotype in (BETA21, PARA, sample_genotype(net.cfg, random.Random(1))):
        derived = net.derived_network(genotype).eval()
        with torch.no_grad():
            torch.testing.assert_close(derived(x), net.forward_path(x, genotype), rtol=1e-5, atol=1e-6)
        assert derived(x).shape == (1, 3, 48, 51)


def test_mixed_layer_equals_every_op_weighted():
    """The merged plain convs and shared ReLU compute DARTS's sum over all nine ops, values and gradients."""
    torch.manual_seed(0)
    layer = MixedLayer(6)
    alpha = torch.randn(len(PRIMITIVES), requires_grad=True)
    x = torch.randn(2, 6, 11, 13, requires_grad=True)
    weights = F.softmax(alpha, -1)
    ours = layer(x, weights)
    plain = sum(w * op(x) for w, op in zip(weights, layer.ops.values(), strict=True))
    torch.testing.assert_close(ours, plain, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(ours)
    first = torch.autograd.grad(ours, [x, alpha, *layer.parameters()], grad, retain_graph=True)
    second = torch.autograd.grad(plain, [x, alpha, *layer.parameters()], grad)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_ablation_spaces():
    io = NetworkIO(3, 3, 2)
    cell_only = Supernet(DLSRConfig(width=8, network_search=False), io)
    assert cell_only.derive().inputs is None and [p.shape for p in cell_only.arch_parameters()] == [(3, 9)]
    net_only = Supernet(DLSRConfig(width=8, cell_search=False), io)
    assert net_only.derive().cell == ("conv_3x3",) * 3
    assert [tuple(p.shape) for p in net_only.arch_parameters()] == [(2,), (3,), (4,), (5,)]
    with pytest.raises(ValueError, match="nothing to search"):
        DLSRConfig(cell_search=False, network_search=False)


def test_genotype_json_round_trip_and_errors():
    assert genotype_from_json(BETA21.to_json()) == BETA21
    chain = Genotype(cell=BETA21.cell, inputs=None)
    assert genotype_from_json(chain.to_json()) == chain
    with pytest.raises(ValueError, match="inputs of B4"):
        Genotype(cell=BETA21.cell, inputs=((1, 2), (4, 5), (2, 4), (4, 5)))  # B4 cannot read B4 or B5
    with pytest.raises(ValueError, match="keys B3..B6"):
        Genotype.from_dict({"cell": list(BETA21.cell), "inputs": {"B3": [1, 2]}, "cells": 6})
    with pytest.raises(ValueError, match="3 ops"):
        Genotype(cell=("conv_3x3",), inputs=None)


def test_attention_refuses_inputs_below_15_px():
    esa = ESA(8)
    assert esa(torch.rand(1, 8, 15, 15)).shape == (1, 8, 15, 15)
    with pytest.raises(ValueError, match="at least 15x15"):
        esa(torch.rand(1, 8, 14, 20))


def test_recomputing_mixed_layers_gives_the_same_gradients():
    x = torch.rand(2, 3, 16, 16)
    grads = []
    for recompute in (False, True):
        torch.manual_seed(0)
        net = Supernet(DLSRConfig(width=4, recompute=recompute), NetworkIO(3, 3, 2))
        grads.append(torch.autograd.grad(net(x).square().mean(), list(net.parameters())))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
