"""AutoDerain's pictures: one decodable, non-blank architecture figure per genotype shape, and a_conv / a_se heat
maps whose framed cells are the supernet's own derivation."""

import json
import random

import numpy as np
import pytest
import torch
from matplotlib.patches import Rectangle
from PIL import Image

from analysis.pictures import PICTURES
from analysis.pictures import autoderain as pictures
from analysis.plots import plt
from search_space.autoderain import OPS, AutoDerainConfig, Supernet, hand_designed, num_blocks, sample_genotype
from search_space.autoderain import stage_names as space_stage_names
from search_space.core import NetworkIO


def _picture(path, min_side: int = 300) -> Image.Image:
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    with Image.open(path) as image:
        image.load()
    assert min(image.size) > min_side
    assert np.asarray(image.convert("L")).std() > 5  # not blank
    return image


def test_registered_under_its_space_and_constants_match_the_search_space():
    assert isinstance(PICTURES.get("autoderain"), pictures.AutoDerainPictures)
    assert pictures.OPS == OPS and set(pictures.SHORT) == set(OPS) == set(pictures.OP_COLORS)
    for levels in (2, 3, 4):
        assert pictures.stage_names(levels) == space_stage_names(levels)
        assert len(pictures.block_names(levels, 3)) == num_blocks(levels, 3)


GENOTYPES = {
    "hand": hand_designed(AutoDerainConfig()),
    "random": sample_genotype(AutoDerainConfig(), random.Random(0)),
    "levels 2, N 1": sample_genotype(AutoDerainConfig(levels=2, per_stage=1), random.Random(1)),
    "levels 4, N 3, add": sample_genotype(AutoDerainConfig(levels=4, per_stage=3, skip="add"), random.Random(2)),
}


@pytest.mark.parametrize("genotype", GENOTYPES.values(), ids=GENOTYPES.keys())
def test_architecture_is_one_png(genotype, tmp_path):
    out = PICTURES.get("autoderain").architecture(genotype, tmp_path / "arch" / "g.png", "title", 32)
    assert out == tmp_path / "arch" / "g.png"
    image = _picture(out)
    assert image.size[0] > image.size[1]  # the U is wider than tall


@pytest.mark.parametrize("genotype", GENOTYPES.values(), ids=GENOTYPES.keys())
def test_architecture_shows_every_block_its_ops_se_and_the_widths(genotype):
    fig, ax = plt.subplots()
    pictures.draw_architecture(ax, genotype, 32)
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    ops = [pictures.SHORT[op] for block in genotype.blocks for op in (block.a, block.b)]
    assert sorted(t for t in texts if t in pictures.SHORT.values()) == sorted(ops)
    assert texts.count("SE") == sum(b.se for b in genotype.blocks)
    assert texts.count("no SE") == sum(not b.se for b in genotype.blocks)
    names = pictures.block_names(genotype.levels, genotype.per_stage)
    assert [t for t in texts if t in names] == names
    skips = [t for t in texts if t.startswith("skip ")]
    assert len(skips) == genotype.levels - 1 and all(f"({genotype.skip})" in t for t in skips)
    widths = {32 * 2**level for level in range(genotype.levels)}
    assert {w for w in widths if any(f"{w} ch" in t for t in texts)} == widths
    fusions = [t for t in texts if t.startswith("concat")] if genotype.skip == "concat" else \
        [t for t in texts if t == "+"]
    assert len(fusions) == genotype.levels - 1


def test_block_positions_draw_a_u():
    levels, n = 4, 2
    xy = pictures.block_positions(levels, n)
    assert len(xy) == num_blocks(levels, n) and len(set(xy)) == len(xy)
    stages = [xy[i * n:(i + 1) * n] for i in range(2 * levels - 1)]
    ys = [np.mean([y for _, y in stage]) for stage in stages]
    middle = levels - 1
    assert all(a > b for a, b in zip(ys[:middle], ys[1:middle + 1], strict=True))  # encoder descends
    assert all(a < b for a, b in zip(ys[middle:-1], ys[middle + 1:], strict=True))  # decoder climbs
    assert np.allclose(ys[:middle], ys[:middle:-1])  # E_l and D_l at one height: the skip runs level
    xs = [x for x, _ in xy]
    assert xs == sorted(xs)  # left to right in U order


def _net(**space) -> Supernet:
    net = Supernet(AutoDerainConfig(width=4, **space), NetworkIO(3, 3, 1))
    torch.manual_seed(0)
    with torch.no_grad():  # spread values: the derivation is not op 0 everywhere
        for a in net.arch_parameters():
            a.uniform_(0, 1)
    return net


CASES = {"discrete": ("discrete", {}), "softmax": ("softmax", {}),
         "SE not searched": ("discrete", {"se_search": False}),
         "shared choice": ("softmax", {"shared_choice": True}), "3 ops": ("discrete", {"ops": OPS[2:]})}


@pytest.mark.parametrize("relaxation,space", CASES.values(), ids=CASES.keys())
def test_framed_cells_are_the_derivation(relaxation, space):
    net = _net(**space)
    net.relaxation = relaxation
    weights = {name: w.numpy() for name, w in net.arch_weights().items()}
    genotype, ops = net.derive(), net.cfg.ops
    slots = weights["a_conv"].shape[1]
    expected = [(i * slots + s, ops.index(op)) for i, b in enumerate(genotype.blocks)
                for s, op in enumerate((b.a, b.b)[:slots])]
    assert pictures.derived_cells(pictures.conv_matrix(weights["a_conv"])) == expected
    assert len({col for _, col in expected}) > 1
    if "a_se" in weights:
        assert pictures.derived_cells(weights["a_se"]) == [(i, int(b.se)) for i, b in enumerate(genotype.blocks)]
    kind = pictures.value_kind(*weights.values())
    assert kind == (pictures.RAW if relaxation == "discrete" else pictures.PROBABILITY)


@pytest.mark.parametrize("relaxation,space", CASES.values(), ids=CASES.keys())
def test_arch_weights_draw_what_was_saved(relaxation, space, tmp_path):
    net = _net(**space)
    net.relaxation = relaxation
    weights = {name: w.numpy() for name, w in net.arch_weights().items()} | {"unrelated": np.zeros(2)}
    written = PICTURES.get("autoderain").arch_weights(weights, tmp_path, "best epoch")
    assert [p.name for p in written] == (["a_conv.png", "a_se.png"] if "a_se" in weights else ["a_conv.png"])
    for path in written:
        _picture(path, min_side=250)
    assert PICTURES.get("autoderain").arch_weights({"unrelated": np.zeros(2)}, tmp_path, "x") == []


def test_heat_map_frames_the_derived_cells():
    matrix = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [0.0, 0.2, 0.9]])
    fig, ax = plt.subplots()
    _, cells = pictures.heat_map(ax, matrix, ["r0", "r1", "r2"], ["x", "y", "z"], 3, 2)
    frames = sorted((round(p.get_y() + p.get_height() / 2), round(p.get_x() + p.get_width() / 2))
                    for p in ax.patches if isinstance(p, Rectangle) and p.get_edgecolor()[:3] == (1.0, 0.0, 0.0))
    plt.close(fig)
    assert cells == frames == [(0, 1), (1, 0), (2, 2)]  # a tie goes to the first, as derive() takes it


def test_labels_layout_and_value_kind():
    assert pictures.conv_row_labels(2, 1, 2) == ["E0.1 a", "E0.1 b", "M.1 a", "M.1 b", "D0.1 a", "D0.1 b"]
    assert pictures.conv_row_labels(2, 1, 1) == ["E0.1 a=b", "M.1 a=b", "D0.1 a=b"]
    assert pictures.op_labels(5) == ["3x3", "5x5", "dil3", "sep3", "sep5"]
    assert pictures.op_labels(3) == ["op0", "op1", "op2"]
    assert pictures.op_labels(2, ("sep_conv_5x5", "conv_3x3")) == ["sep5", "3x3"]
    assert [pictures.infer_layout(b) for b in (3, 6, 10, 15, 21)] == [(2, 1), (2, 2), (3, 2), (3, 3), (4, 3)]
    with pytest.raises(ValueError, match="no AutoDerain U"):
        pictures.infer_layout(2)
    probabilities = np.array([[0.2, 0.8], [0.5, 0.5]])
    assert pictures.value_kind(probabilities) == pictures.PROBABILITY
    assert pictures.value_kind(probabilities, np.array([[0.5, 0.6]])) == pictures.RAW
    assert pictures.kind_from_title("raw values, epoch 3") == pictures.RAW
    assert pictures.kind_from_title("softmax") == pictures.kind_from_title("probabilities") == pictures.PROBABILITY
    assert pictures.kind_from_title("best epoch") is pictures.kind_from_title("drawn at epoch 3") is None


def test_the_runs_config_names_the_ops_and_the_u(tmp_path):
    weights = {"a_conv": np.full((15, 2, 2), 0.5)}
    assert pictures.weights_layout(weights, {}) == ((3, 3), None)
    space = {"name": "autoderain", "levels": 2, "per_stage": 5, "ops": ["sep_conv_5x5", "conv_3x3"]}
    (tmp_path / "config.json").write_text(json.dumps({"space": space, "seed": 0}))
    assert pictures.weights_layout(weights, pictures.run_space_config(tmp_path)) == \
        ((2, 5), ["sep_conv_5x5", "conv_3x3"])
    (tmp_path / "config.json").write_text(json.dumps({"space": {**space, "name": "dlsr"}}))
    assert pictures.run_space_config(tmp_path) == {}
    assert pictures.run_space_config(tmp_path / "missing") == {}
