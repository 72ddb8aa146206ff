"""DLSR's pictures: one decodable, non-blank architecture figure per genotype, and alpha / beta heat maps for
whatever the method saved."""

import numpy as np
import pytest
from matplotlib import image as mpimg

from analysis.pictures import PICTURES
from analysis.pictures import dlsr as dlsr_pictures
from search_space.dlsr.genotype import FIRST_SEARCHED_CELL, Genotype
from search_space.dlsr.ops import PRIMITIVES

CELL = ("conv_1x1", "sep_conv_7x7", "sep_conv_5x5")
SEARCHED = Genotype(cell=CELL, inputs=((1, 2), (2, 3), (2, 4), (4, 5)), cells=6)
CHAIN = Genotype(cell=CELL, inputs=None, cells=6)


def _picture(path) -> np.ndarray:
    """The decoded PNG, checked to be a real, non-blank picture."""
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    pixels = mpimg.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert pixels[..., :3].std() > 0.01
    return pixels


def test_registered_under_its_space_and_constants_match_the_search_space():
    assert isinstance(PICTURES.get(SEARCHED.space), dlsr_pictures.DLSRPictures)
    assert dlsr_pictures.PRIMITIVES == PRIMITIVES
    assert dlsr_pictures.FIRST_SEARCHED_CELL == FIRST_SEARCHED_CELL
    assert set(dlsr_pictures.SHORT) == set(PRIMITIVES)


@pytest.mark.parametrize("genotype", [SEARCHED, CHAIN], ids=["searched inputs", "chain"])
def test_architecture_is_one_png(genotype, tmp_path):
    out = PICTURES.get("dlsr").architecture(genotype, tmp_path / "arch" / "g.png", "title", 48)
    assert out == tmp_path / "arch" / "g.png"
    pixels = _picture(out)
    assert pixels.shape[1] > pixels.shape[0]  # two wide panels stacked


def test_route_heights_keep_overlapping_routes_apart():
    cells, fusions = dlsr_pictures._network_xs(SEARCHED)
    edges = dlsr_pictures._long_edges(SEARCHED)
    assert sorted(edges) == [(1, 3), (2, 4), (2, 5), (4, 6)]  # B_{k-1} -> B_k inputs run straight
    levels = dlsr_pictures._levels(edges, cells, fusions)
    assert levels == {(1, 3): 0, (4, 6): 0, (2, 4): 1, (2, 5): 2}
    assert dlsr_pictures._long_edges(CHAIN) == [] and dlsr_pictures._network_xs(CHAIN)[1] == {}


def _weights(rng, alpha: bool, betas: bool) -> dict[str, np.ndarray]:
    weights = {"alpha": rng.normal(size=(3, len(PRIMITIVES)))} if alpha else {}
    if betas:
        weights |= {f"beta_B{k}": rng.dirichlet(np.ones(k - 1)) for k in range(3, 7)}
    return weights


@pytest.mark.parametrize("alpha,betas,files", [(True, True, ["alpha.png", "beta.png"]), (False, True, ["beta.png"]),
                                               (True, False, ["alpha.png"]), (False, False, [])])
def test_arch_weights_draw_what_was_saved(alpha, betas, files, tmp_path):
    weights = _weights(np.random.default_rng(0), alpha, betas) | {"unrelated": np.zeros(2)}
    written = PICTURES.get("dlsr").arch_weights(weights, tmp_path, "run")
    assert [p.name for p in written] == files
    for path in written:
        _picture(path)
    if not files:
        assert PICTURES.get("dlsr").arch_weights({}, tmp_path, "run") == []


def test_raw_logits_are_softmaxed_and_probabilities_kept():
    logits = np.array([[0.0, 1.0, 2.0]])
    assert np.allclose(dlsr_pictures._as_probabilities(logits).sum(-1), 1.0)
    probabilities = np.array([[0.2, 0.3, 0.5]])
    assert np.array_equal(dlsr_pictures._as_probabilities(probabilities), probabilities)
    assert dlsr_pictures.beta_cells({"alpha": 0, "beta_B3": 1, "beta_B10": 2, "beta_Bx": 3}) == {3: 1, 10: 2}
