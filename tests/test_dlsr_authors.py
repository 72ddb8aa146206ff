"""The DLSR authors' checkpoints (../shared/data/checkpoints/dlsr) in our derived network: every tensor mapped,
a checkpoint that does not fit named in one line, and their weights restore Set5 far above bicubic (a wrong
name or input-block order collapses it). Their published scores: tests/test_published_protocol.py."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from orchestrator.cli import main
from search_space import SPACES, NetworkIO
from search_space.dlsr import DLSRConfig, sample_genotype
from search_space.dlsr.authors import BETA21, authors_names, our_name, reorder_fusion

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHECKPOINTS = DATA / "checkpoints" / "dlsr"
BETA21_FILE, TINY_FILE = "RFDN_beta21_ps128_20210128_1000.pt", "RFDN_beta21_tiny18_ps128_20210306_lr4_700.pt"
needs_data = pytest.mark.skipif(not (CHECKPOINTS / TINY_FILE).is_file() or not (CHECKPOINTS / BETA21_FILE).is_file(),
                                reason=f"the DLSR authors' checkpoints are not in {CHECKPOINTS} (../shared/data: see "
                                       "its README for the sources)")
SPACE = SPACES.get("dlsr")


@pytest.fixture(scope="module")
def checkpoints() -> dict[str, dict]:
    return {f: torch.load(CHECKPOINTS / f, map_location="cpu", weights_only=True) for f in (BETA21_FILE, TINY_FILE)}


@needs_data
@pytest.mark.parametrize(("file", "width", "weights"), [(BETA21_FILE, 48, 322_620), (TINY_FILE, 18, 56_268)])
def test_every_tensor_maps_onto_our_network_of_beta21(checkpoints, file, width, weights):
    checkpoint = checkpoints[file]
    genotype, io, nf, state = SPACE.import_published(checkpoint)
    assert genotype == BETA21 and io == NetworkIO(3, 3, 2) and nf == width
    net = SPACE.network(genotype, io, nf)
    net.load_state_dict(state, strict=True)  # every tensor of ours has one of theirs
    assert len(state) == len(checkpoint["state_dict"]) == 214
    assert sum(p.numel() for p in net.parameters()) == weights  # the README's counts
    # the same from the bare state_dict with DataParallel's prefix, and with our genotype given
    bare = {f"module.{k}": v for k, v in checkpoint["state_dict"].items()}
    _, _, _, again = SPACE.import_published(bare, BETA21)
    assert again.keys() == state.keys() and all(torch.equal(again[k], state[k]) for k in state)


@pytest.mark.parametrize("seed", range(6))
def test_any_genotype_round_trips_through_the_authors_names(seed):
    """Our network of a random genotype (dil convs, chain wiring included), saved under the authors' names,
    imports back to the same tensors: the name tables agree with our network for every op kind."""
    cfg = DLSRConfig(network_search=seed % 3 != 0)
    genotype = sample_genotype(cfg, random.Random(seed))
    ours = SPACE.network(genotype, NetworkIO(3, 3, 3), 8).state_dict()
    theirs = {name: ours[our_name(name, genotype.cell)] for name in authors_names(genotype)}
    assert {our_name(name, genotype.cell) for name in theirs} == ours.keys()
    _, io, width, state = SPACE.import_published({"state_dict": theirs}, genotype)
    assert (io.scale, width) == (3, 8) and all(torch.equal(state[k], ours[k]) for k in ours)


@needs_data
@pytest.mark.parametrize(("change", "named"), [
    (lambda sd: sd.__setitem__("B3.c2_r.op.1.weight", torch.zeros(18, 1, 5, 5)),
     "B3.c2_r.op.1.weight (18, 1, 5, 5) does not fit .* (ours: cells.2.layers.1.dw1.weight (18, 1, 7, 7))"),
    (lambda sd: sd.pop("B6.esa.conv4.bias"),
     "B6.esa.conv4.bias: missing from the checkpoint .* (ours: cells.5.esa.expand.bias (18,))"),
    (lambda sd: sd.__setitem__("B1.extra.weight", torch.zeros(1)), "B1.extra.weight (1,) does not fit .*no such"),
])
def test_a_checkpoint_that_does_not_fit_names_its_first_misfit_tensor(checkpoints, change, named):
    state = dict(checkpoints[TINY_FILE]["state_dict"])
    change(state)
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")) as err:
        SPACE.import_published({"state_dict": state})
    assert "\n" not in str(err.value)


@needs_data
def test_fusion_inputs_concatenated_in_another_order_are_reordered_to_ours(checkpoints):
    """A genotype file listing B5's inputs as the authors' file concatenates them, [4, 2], swaps the weight's
    input blocks: our network then computes the same as with the original weights and order."""
    state = dict(checkpoints[TINY_FILE]["state_dict"])
    first, second = state["c5.0.weight"].chunk(2, dim=1)
    state["c5.0.weight"] = torch.cat([second, first], dim=1)  # as a file concatenating [B4, B2] would hold it
    swapped = BETA21.to_dict() | {"inputs": {"B3": [1, 2], "B4": [2, 3], "B5": [4, 2], "B6": [4, 5]}}
    _, _, _, ours = SPACE.import_published({"state_dict": state}, swapped)
    _, _, _, reference = SPACE.import_published(checkpoints[TINY_FILE])
    assert torch.equal(ours["fusions.2.weight"], reference["fusions.2.weight"])
    assert torch.equal(reorder_fusion(torch.arange(6.0).view(1, 6, 1, 1), (3, 1, 2)).flatten(),
                       torch.tensor([2.0, 3.0, 4.0, 5.0, 0.0, 1.0]))


def y_psnr(sr: torch.Tensor, hr: torch.Tensor, shave: int) -> float:
    """PSNR on BT.601 Y (0..255 scale) of 8-bit-rounded images, ``shave`` border pixels left out."""
    coeffs = torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
    y_sr, y_hr = ((torch.round(img.clamp(0, 1) * 255) / 255 * coeffs).sum(1) for img in (sr, hr))
    mse = (y_sr - y_hr)[..., shave:-shave, shave:-shave].pow(2).mean().item()
    return 10 * np.log10(255**2 / mse)


@pytest.fixture
def one_thread():
    """One intra-op thread: on a shared 2-core machine it runs these small convs 3x faster than the default."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@needs_data
@pytest.mark.parametrize("file", [BETA21_FILE, TINY_FILE])
def test_their_weights_in_our_network_restore_set5_far_above_bicubic(checkpoints, file, one_thread):
    """LR by torch's antialiased bicubic (a sanity check, not the published MATLAB protocol)."""
    genotype, io, width, state = SPACE.import_published(checkpoints[file])
    net = SPACE.network(genotype, io, width).eval()
    net.load_state_dict(state, strict=True)
    ours, bicubic = [], []
    for path in sorted((DATA / "sr" / "benchmark" / "Set5" / "HR").glob("*.png")):
        hr = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255)
        hr = hr.permute(2, 0, 1)[None, :, :hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]  # modcrop
        lr = F.interpolate(hr, scale_factor=0.5, mode="bicubic", antialias=True).clamp(0, 1)
        lr = torch.round(lr * 255) / 255  # an 8-bit LR image, as read from a file
        with torch.no_grad():
            ours.append(y_psnr(net(lr), hr, 2))
        bicubic.append(y_psnr(F.interpolate(lr, scale_factor=2, mode="bicubic"), hr, 2))
    assert len(ours) == 5
    assert np.mean(ours) > 36.5 and np.mean(ours) > np.mean(bicubic) + 3, (ours, bicubic)


@needs_data
def test_import_into_a_space_without_an_importer_is_a_clear_error(tmp_path, capsys):
    assert main(["import", "hinas", str(CHECKPOINTS / TINY_FILE), "-o", str(tmp_path / "net.pt")]) == 2
    assert "search space hinas has no importer of published checkpoints; spaces that have one: dlsr" in \
        capsys.readouterr().err
    assert not (tmp_path / "net.pt").exists()
