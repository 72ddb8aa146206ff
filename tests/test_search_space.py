"""The HiNAS search space: ops, cells, supernet switches, derivation, genotype, derived nets, sampler."""

import collections
import functools
import itertools
import json
import math
import random
import statistics

import pytest
import torch

from search_space import NetworkIO, count_parameters, depthwise, genotype_from_json
from search_space.depthwise import depthwise_conv, fanned_depthwise_conv, kernel_available
from search_space.hinas import DERIVABLE, OPS, PRIMITIVES, DerivedNet, Genotype, Supernet, sample_genotype
from search_space.hinas import HinasConfig as SpaceConfig
from search_space.hinas.cell import SearchCell
from search_space.hinas.derive import derive_cell, transition_log_probs, viterbi_path

GRAY = NetworkIO(1, 1, 1)

SMALL = dict(layers=3, nodes=3, base_width=4, stem_width=8, head_width=8)


def path_log_prob(beta_probs: torch.Tensor, path: tuple[int, ...]) -> float:
    """The oracle the Viterbi path is checked against: a path's log-probability, summed step by step."""
    total, src = 0.0, 0
    for moves, dst in zip(transition_log_probs(beta_probs), path, strict=True):
        if (src, dst) not in moves:
            return -math.inf
        total += moves[(src, dst)]
        src = dst
    return total


def small_space(**overrides) -> SpaceConfig:
    return SpaceConfig(**{**SMALL, **overrides})


@pytest.mark.parametrize("name", PRIMITIVES)
@pytest.mark.parametrize("affine", [False, True])
def test_every_op_keeps_shape(name, affine):
    op = OPS[name](6, affine)
    x = torch.randn(2, 6, 9, 11)
    assert op(x).shape == x.shape


def test_ops_table_and_alpha_columns_agree():
    assert tuple(OPS) == PRIMITIVES and PRIMITIVES[-1] == "none"
    assert PRIMITIVES[:-1] == DERIVABLE


def test_viterbi_equals_brute_force_over_legal_paths():
    gen = torch.Generator().manual_seed(0)
    for layers in (1, 2, 3, 5):
        space = small_space(layers=layers)
        net = Supernet(space, GRAY)
        for _ in range(60):
            with torch.no_grad():
                net.beta.copy_(torch.randn(net.beta.shape, generator=gen) * 3)
            probs = net.beta_weights()
            best = max(path_log_prob(probs, p) for p in space.legal_paths)
            found = viterbi_path(probs)
            assert found in space.legal_paths
            assert path_log_prob(probs, found) == pytest.approx(best, abs=1e-9)


def test_beta_gives_illegal_moves_exactly_zero_weight():
    net = Supernet(small_space(), GRAY)
    probs = net.beta_weights()
    assert probs[:, 0, 0].eq(0).all()  # level 0 cannot go down
    assert probs[:, 2, 2].eq(0).all()  # level 2 cannot go up
    assert torch.allclose(probs.sum(-1), torch.ones_like(probs.sum(-1)))


def test_derivation_never_picks_none_and_keeps_two_distinct_inputs():
    gen = torch.Generator().manual_seed(1)
    nodes = 4
    edges = sum(2 + i for i in range(nodes))
    for _ in range(200):
        logits = torch.randn(edges, len(PRIMITIVES), generator=gen)
        logits[:, -1] += 5  # `none` dominates every edge
        cell = derive_cell(logits.softmax(-1), nodes)
        for i, node in enumerate(cell):
            inputs = [j for _, j in node]
            assert len(node) == 2 and len(set(inputs)) == 2 and all(0 <= j < 2 + i for j in inputs)
            assert all(op != "none" for op, _ in node)


def test_derivation_picks_the_strongest_edges_and_ops():
    space = small_space(nodes=2, layers=1)
    net = Supernet(space, GRAY)
    with torch.no_grad():
        net.alpha.zero_()
        net.alpha[0, 2 + 1, PRIMITIVES.index("dil_conv_5x5")] = 5  # node 1, input 1
        net.alpha[0, 2 + 2, PRIMITIVES.index("skip_connect")] = 4  # node 1, input 2 (node 0)
    cell = net.derive().cells[0]
    assert cell[1] == (("dil_conv_5x5", 1), ("skip_connect", 2))


def random_genotypes(count=30, seed=0):
    rng = random.Random(seed)
    spaces = [small_space(), small_space(lwas=False), small_space(width_search=False, manual_widths=(2, 2, 2)),
              SpaceConfig(layers=2, nodes=3)]
    return [sample_genotype(rng.choice(spaces), rng) for _ in range(count)]


def test_genotype_json_round_trip_is_exact_and_names_its_space():
    for g in random_genotypes():
        again = genotype_from_json(g.to_json())
        assert again == g and again.to_json() == g.to_json()
        assert '"space": "hinas"' in g.to_json()


def test_a_version_1_genotype_without_a_space_still_loads():
    """genotype.json of runs made before the registries: task I/O and width inside, no space field."""
    old = {"task": "sr", "in_channels": 3, "scale": 4, "format_version": 1,
           "cells": [[[["sep_conv_3x3", 0], ["conv_3x3", 1]]]], "width_multipliers": [1.0, 1.5], "path": [0, 1],
           "base_width": 8, "residual": True, "lwas": False, "stem_multiplier": 1.0, "cell_sharing": True,
           "stem_width": 8, "head_width": 8}
    g = genotype_from_json(json.dumps(old))
    assert g.cells == (((("sep_conv_3x3", 0), ("conv_3x3", 1)),),) and g.path == (0, 1) and not g.lwas
    assert DerivedNet(g, NetworkIO(3, 3, 4), 8)(torch.rand(1, 3, 6, 6)).shape == (1, 3, 24, 24)


def test_genotype_rejects_bad_input_with_clear_errors():
    g = random_genotypes(1)[0]
    data = g.to_dict()
    data["cells"][0][0][0][0] = "none"
    with pytest.raises(ValueError, match="not allowed"):
        Genotype.from_dict(data)
    data = g.to_dict()
    data["colour"] = 1
    with pytest.raises(ValueError, match="unknown HiNAS genotype fields"):
        Genotype.from_dict(data)


@pytest.mark.parametrize(("scale", "channels"), [(1, 1), (1, 3), (2, 3), (3, 3), (4, 3)])
@pytest.mark.parametrize("residual", [True, False])
def test_derived_net_from_genotype_alone_runs_forward_backward(scale, channels, residual):
    space = SpaceConfig(residual=residual, **SMALL)
    genotype = genotype_from_json(sample_genotype(space, random.Random(3)).to_json())
    net = DerivedNet(genotype, NetworkIO(channels, channels, scale), 6)
    x = torch.rand(2, channels, 12, 12)
    y = net(x)
    assert y.shape == (2, channels, 12 * scale, 12 * scale)
    y.square().mean().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("cell_sharing", [True, False])
@pytest.mark.parametrize(("scale", "channels"), [(1, 1), (2, 3), (4, 3)])
def test_supernet_forward_backward_reaches_every_weight_and_arch_parameter(cell_sharing, scale, channels):
    space = SpaceConfig(cell_sharing=cell_sharing, **SMALL)
    net = Supernet(space, NetworkIO(channels, channels, scale))
    y = net(torch.rand(2, channels, 10, 10))
    assert y.shape == (2, channels, 10 * scale, 10 * scale)
    y.square().mean().backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0
    assert net.beta.grad is not None and net.beta.grad.abs().sum() > 0
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing


def test_arch_parameters_are_kept_apart_from_weights():
    net = Supernet(small_space(), GRAY)
    arch = {id(p) for p in net.arch_parameters()}
    weights = {id(p) for p in net.weight_parameters()}
    assert arch and weights and not arch & weights
    assert arch | weights == {id(p) for p in net.parameters()}


def test_lwas_switch_controls_alpha_sharing():
    off, on = Supernet(small_space(lwas=False), GRAY), Supernet(small_space(lwas=True), GRAY)
    edges = small_space().edges_per_cell
    assert off.alpha.shape == (1, edges, len(PRIMITIVES))
    assert on.alpha.shape == (3, edges, len(PRIMITIVES))
    on(torch.rand(2, 1, 8, 8)).mean().backward()
    assert all(on.alpha.grad[layer].abs().sum() > 0 for layer in range(3))
    assert len(off.derive().cells) == 1 and len(on.derive().cells) == 3


def test_manual_widths_search_only_cells():
    space = small_space(width_search=False, manual_widths=(1, 2, 4))
    net = Supernet(space, GRAY)
    assert net.beta is None and net.arch_parameters() == [net.alpha]
    g = net.derive()
    assert g.path is None and g.node_widths(20) == (20, 40, 80)
    assert DerivedNet(g, GRAY, 20)(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_width_levels_and_first_layer_has_two_cells():
    net = Supernet(small_space(base_width=10, width_factors=(1, 1.5, 2)), GRAY)
    assert set(net.cells[0].keys()) == {"0", "1"}
    assert set(net.cells[1].keys()) == {"0", "1", "2"}
    assert [net.level_width(1, h) for h in range(3)] == [10, 15, 20]


def test_cell_sharing_off_has_one_cell_per_path():
    shared, separate = Supernet(small_space(), GRAY), Supernet(small_space(cell_sharing=False), GRAY)
    assert sum(len(c) for c in shared.cells) == 2 + 3 + 3
    assert sum(len(c) for c in separate.cells) == 2 + 5 + 7


def test_single_path_training_leaves_unchosen_ops_without_gradient():
    space = small_space()
    net = Supernet(space, GRAY)
    arch = sample_genotype(space, random.Random(5))
    net.forward_path(torch.rand(2, 1, 8, 8), arch).square().mean().backward()
    assert net.alpha.grad is None and net.beta.grad is None
    for layer, level in enumerate(arch.path):
        cell = net.cells[layer][str(level)]
        chosen = {(node, j, op) for node, pair in enumerate(arch.cells[layer]) for op, j in pair}
        for node in range(space.nodes):
            for j in range(2 + node):
                for k, op_name in enumerate(DERIVABLE):
                    params = list(cell.edges[sum(2 + i for i in range(node)) + j][k].parameters())
                    has_grad = any(p.grad is not None for p in params)
                    if params:
                        assert has_grad == ((node, j, op_name) in chosen), (layer, node, j, op_name)
    off_path = [net.cells[layer][str(h)] for layer in range(space.layers) for h in net.levels_at(layer)
                if h != arch.path[layer]]
    assert all(p.grad is None for cell in off_path for p in cell.parameters())


def test_supernet_sep_conv_is_the_plain_module_composition():
    torch.manual_seed(0)
    op = OPS["sep_conv_5x5"](5, False)
    x, scale = torch.randn(4, 5, 9, 9), torch.tensor(0.3)
    plain = [op.dw1, op.pw1, torch.nn.BatchNorm2d(5, affine=False), torch.nn.LeakyReLU(0.2), op.dw2, op.pw2,
             torch.nn.BatchNorm2d(5, affine=False)]
    torch.testing.assert_close(op(x, scale), torch.nn.Sequential(*plain)(x) * scale)


@pytest.mark.parametrize("fan,kernel", [(2, 3), (3, 5), (4, 5)])
def test_fanned_depthwise_conv_matches_the_grouped_conv_and_its_gradients(fan, kernel):
    torch.manual_seed(0)
    x = torch.randn(3, 6, 11, 9).contiguous(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(6 * fan, 1, kernel, kernel, requires_grad=True)
    grad_out = torch.randn(3, 6 * fan, 11, 9)
    pad = (kernel // 2, kernel // 2)
    results = []
    for conv in (fanned_depthwise_conv, lambda x, w, p: torch.nn.functional.conv2d(x, w, None, 1, p, 1, x.shape[1])):
        out = conv(x, weight, pad)
        x_grad, weight_grad = torch.autograd.grad(out, (x, weight), grad_out)
        results.append((out, x_grad, weight_grad))
    for ours, reference in zip(*results, strict=True):
        torch.testing.assert_close(ours, reference)
    assert results[0][1].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("channels", [16, 45, 80])
def test_depthwise_5x5_weight_gradient_kernel_matches_pytorch(channels):
    # gcc is part of the supported set-up; without it the kernel would silently fall back to PyTorch's.
    assert kernel_available(), "the C weight-gradient kernel was not built (is a C compiler installed?)"
    torch.manual_seed(0)
    x = torch.randn(3, channels, 13, 10).contiguous(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(channels, 1, 5, 5, requires_grad=True)
    grad_out = torch.randn(3, channels, 13, 10).contiguous(memory_format=torch.channels_last)
    results = []
    for conv in (depthwise_conv, lambda x, w, p: torch.nn.functional.conv2d(x, w, None, 1, p, 1, x.shape[1])):
        out = conv(x, weight, (2, 2))
        results.append((out, *torch.autograd.grad(out, (x, weight), grad_out)))
    assert results[0][0].grad_fn.name().endswith("Depthwise5x5Backward")  # the kernel really ran
    for ours, reference in zip(*results, strict=True):
        torch.testing.assert_close(ours, reference)


def test_depthwise_conv_without_a_c_compiler_warns_and_uses_pytorchs_gradient(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing cached there: it must try to compile
    depthwise._load_kernel.cache_clear()
    try:
        with pytest.warns(UserWarning, match="could not be built.*Install a C compiler"):
            assert not kernel_available()
        x = torch.randn(2, 16, 6, 6).contiguous(memory_format=torch.channels_last)
        weight = torch.randn(16, 1, 5, 5, requires_grad=True)
        out = depthwise_conv(x, weight, (2, 2))
        assert out.grad_fn.name() == "ConvolutionBackward0"  # PyTorch's own convolution and gradient
    finally:
        depthwise._load_kernel.cache_clear()


def test_recomputed_sep_conv_matches_stored_one_and_moves_running_stats_once():
    torch.manual_seed(0)
    recomputed = OPS["sep_conv_3x3"](5, False)
    stored = OPS["sep_conv_3x3"](5, False)
    stored.load_state_dict(recomputed.state_dict())
    stored.recompute = False
    x = torch.randn(4, 5, 8, 8)
    grads = []
    for op in (recomputed, stored):
        xi = x.clone().requires_grad_()
        op(xi, torch.tensor(0.7)).square().sum().backward()
        grads.append(xi.grad)
    torch.testing.assert_close(grads[0], grads[1])
    for a, b in zip(recomputed.buffers(), stored.buffers(), strict=True):
        torch.testing.assert_close(a, b)


def per_edge_cell_forward(cell, s0, s1, op_weights):
    """The mixed cell of Eq. 1-3 written edge by edge: the reference the grouped forward must equal."""
    states = [s0, s1]
    for node in range(cell.nodes):
        total = 0
        for j in range(2 + node):
            e = sum(2 + i for i in range(node)) + j
            for k, op in enumerate(cell.edges[e]):
                x = torch.nn.functional.leaky_relu(states[j], 0.2) if op.preactivated else states[j]
                total = total + op(x, op_weights[e, k])
        states.append(total)
    return torch.cat(states[2:], dim=1)


@pytest.mark.parametrize("training", [True, False])
def test_grouped_search_cell_equals_the_per_edge_mixed_cell(training):
    torch.manual_seed(0)
    grouped, reference = SearchCell(5, 4), SearchCell(5, 4)
    reference.load_state_dict(grouped.state_dict())
    s0, s1, out_grad = torch.randn(3, 2, 5, 10, 12)
    alpha = torch.randn(len(grouped.edges), len(PRIMITIVES))
    results = []
    for cell in (grouped, reference):
        cell.train(training)
        x0, x1, a = (t.clone().requires_grad_() for t in (s0, s1, alpha))
        run = cell.forward if cell is grouped else functools.partial(per_edge_cell_forward, cell)
        out = run(x0, x1, a.softmax(-1))
        out.mul(out_grad.repeat(1, 4, 1, 1)).sum().backward()
        results.append([out, x0.grad, x1.grad, a.grad, *(p.grad for p in cell.parameters()), *cell.buffers()])
    for got, expected in zip(*results, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)  # summation order differs


def supernet_grads(net: Supernet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    net.zero_grad(set_to_none=True)
    net(x).square().mean().backward()
    return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("cell_sharing", [True, False])
def test_supernet_gradients_are_repeatable_and_equal_to_stored_activations(cell_sharing):
    torch.manual_seed(0)
    space = small_space(layers=2, nodes=3, cell_sharing=cell_sharing)
    recomputing = Supernet(space, GRAY)
    storing = Supernet(space, GRAY)
    storing.load_state_dict(recomputing.state_dict())
    for module in storing.modules():
        if hasattr(module, "recompute"):
            module.recompute = False
    x = torch.rand(4, 1, 24, 24)
    first = supernet_grads(recomputing, x)
    for _ in range(3):  # bit-identical on every call (a stride-0 BN weight once returned garbage here)
        again = supernet_grads(recomputing, x)
        assert all(torch.equal(first[n], again[n]) for n in first)
    reference = supernet_grads(storing, x)
    assert first.keys() == reference.keys()
    for name in first:
        torch.testing.assert_close(first[name], reference[name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("affine", [False, True])
def test_sep_conv_running_statistics_follow_every_training_step(affine):
    op = OPS["sep_conv_3x3"](4, affine)
    reference = torch.nn.BatchNorm2d(4, affine=False)
    for step in range(3):
        x = torch.randn(2, 4, 6, 6, requires_grad=True) + step
        out = op(x) if affine else op(x, torch.tensor(0.5))
        out.sum().backward()
        with torch.no_grad():
            reference(op.pw1(op.dw1(x)))  # what bn1 sees, once per step
    torch.testing.assert_close(op.bn1.running_mean, reference.running_mean)
    torch.testing.assert_close(op.bn1.running_var, reference.running_var)


def test_sampler_is_uniform_over_the_discrete_space():
    space = small_space(layers=3, nodes=3)
    rng = random.Random(0)
    draws = 6000
    genotypes = [sample_genotype(space, rng) for _ in range(draws)]

    def assert_uniform(counter: collections.Counter, outcomes: int, total: int):
        expected = total / outcomes
        assert len(counter) == outcomes
        tolerance = 5 * math.sqrt(expected)  # 5 sigma of a binomial count
        assert all(abs(c - expected) < tolerance for c in counter.values()), counter

    for node in range(space.nodes):
        pairs = collections.Counter(tuple(j for _, j in g.cells[0][node]) for g in genotypes)
        assert_uniform(pairs, math.comb(2 + node, 2), draws)
    ops = collections.Counter(op for g in genotypes for cell in g.cells for node in cell for op, _ in node)
    assert_uniform(ops, len(DERIVABLE), sum(ops.values()))
    paths = collections.Counter(g.path for g in genotypes)
    assert_uniform(paths, len(space.legal_paths), draws)
    # Moves follow from uniform paths: compare with their share over the enumerated legal paths.
    moves = collections.Counter((p[1] - p[0]) for p in (g.path for g in genotypes))
    legal = collections.Counter(p[1] - p[0] for p in space.legal_paths)
    for move, count in legal.items():
        assert moves[move] / draws == pytest.approx(count / len(space.legal_paths), abs=0.03)


def test_space_counts_discrete_architectures():
    space = SpaceConfig(nodes=4, layers=3, lwas=False)
    per_cell = 1 * 3 * 6 * 10 * 36**4
    assert space.num_cell_architectures() == per_cell
    paths = [p for p in itertools.product(range(3), repeat=3) if p[0] <= 1
             and all(abs(a - b) <= 1 for a, b in zip(p, p[1:], strict=False))]
    assert space.num_architectures() == per_cell * len(paths)


def test_derived_parameter_counts_match_the_paper_range():
    rng = random.Random(0)
    denoise = SpaceConfig()
    counts = [count_parameters(DerivedNet(sample_genotype(denoise, rng), GRAY, 20)) / 1e6 for _ in range(200)]
    assert 0.20 <= statistics.median(counts) <= 0.34
    sr = SpaceConfig(layers=2, nodes=3)
    rgb_x4 = NetworkIO(3, 3, 4)
    counts = [count_parameters(DerivedNet(sample_genotype(sr, rng), rgb_x4, 30)) / 1e6 for _ in range(200)]
    assert 0.27 <= statistics.median(counts) <= 0.35


def test_search_space_imports_only_torch_and_the_standard_library():
    import ast
    import pathlib
    import sys

    allowed = {"torch"} | set(sys.stdlib_module_names)
    files = sorted((pathlib.Path(__file__).resolve().parents[1] / "search_space").rglob("*.py"))
    assert len(files) > 20  # from any working folder: a wrong path finds no file and would pass vacuously
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            assert all(n.split(".")[0] in allowed for n in names), (path, names)
