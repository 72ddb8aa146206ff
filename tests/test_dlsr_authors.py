"""The DLSR authors' checkpoints into our derived network: every tensor mapped, a bad checkpoint named in
one line. (Their published scores: tests/test_published_protocol.py.)"""

from pathlib import Path

import pytest
import torch

from orchestrator.cli import main
from search_space import SPACES
from search_space.dlsr.authors import BETA21, reorder_fusion

CHECKPOINT = Path(__file__).resolve().parents[2] / "shared" / "data" / "checkpoints" / "dlsr" / \
    "RFDN_beta21_tiny18_ps128_20210306_lr4_700.pt"
pytestmark = pytest.mark.skipif(not CHECKPOINT.is_file(), reason=f"the DLSR authors' checkpoint is not at {CHECKPOINT}")


@pytest.fixture(scope="module")
def checkpoint() -> dict:
    return torch.load(CHECKPOINT, map_location="cpu", weights_only=True)


def test_every_tensor_maps_onto_our_network_of_beta21(checkpoint):
    genotype, io, width, state = SPACES.get("dlsr").import_published(checkpoint)
    assert genotype == BETA21 and (io.in_channels, io.scale, width) == (3, 2, 18)
    net = SPACES.get("dlsr").network(genotype, io, width)
    net.load_state_dict(state, strict=True)  # every tensor of ours has one of theirs
    assert len(state) == len(checkpoint["state_dict"]) == 214
    assert sum(p.numel() for p in net.parameters()) == 56_268


@pytest.mark.parametrize(("change", "named"), [
    (lambda sd: sd.__setitem__("B3.c2_r.op.1.weight", torch.zeros(18, 1, 5, 5)), "B3.c2_r.op.1.weight (18, 1, 5, 5)"),
    (lambda sd: sd.pop("B6.esa.conv4.bias"), "cells.5.esa.expand.bias: our network"),
    (lambda sd: sd.__setitem__("B1.extra.weight", torch.zeros(1)), "B1.extra.weight (1,)"),
])
def test_a_checkpoint_that_does_not_fit_names_its_first_misfit_tensor(checkpoint, change, named):
    state = dict(checkpoint["state_dict"])
    change(state)
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")) as err:
        SPACES.get("dlsr").import_published({"state_dict": state})
    assert "\n" not in str(err.value)


def test_fusion_inputs_concatenated_in_another_order_are_reordered_to_ours(checkpoint):
    """A genotype file listing B5's inputs as the authors' file concatenates them, [4, 2], swaps the weight's
    input blocks: our network then computes the same as with the original weights and order."""
    state = dict(checkpoint["state_dict"])
    first, second = state["c5.0.weight"].chunk(2, dim=1)
    state["c5.0.weight"] = torch.cat([second, first], dim=1)  # as a file concatenating [B4, B2] would hold it
    swapped = BETA21.to_dict() | {"inputs": {"B3": [1, 2], "B4": [2, 3], "B5": [4, 2], "B6": [4, 5]}}
    _, _, _, ours = SPACES.get("dlsr").import_published({"state_dict": state}, swapped)
    _, _, _, reference = SPACES.get("dlsr").import_published(checkpoint)
    assert torch.equal(ours["fusions.2.weight"], reference["fusions.2.weight"])
    assert torch.equal(reorder_fusion(torch.arange(6.0).view(1, 6, 1, 1), (3, 1, 2)).flatten(),
                       torch.tensor([2.0, 3.0, 4.0, 5.0, 0.0, 1.0]))


def test_import_into_a_space_without_an_importer_is_a_clear_error(tmp_path, capsys):
    assert main(["import", "hinas", str(CHECKPOINT), "-o", str(tmp_path / "net.pt")]) == 2
    assert "search space hinas has no importer of published checkpoints; spaces that have one: dlsr" in \
        capsys.readouterr().err
    assert not (tmp_path / "net.pt").exists()
