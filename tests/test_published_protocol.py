"""The published protocol reproduces published figures through the project's own commands (`evaluate`,
`import`), on the real benchmark images in ../shared/data (skipped where it is absent: a user's fresh clone)."""

import json
from pathlib import Path

import pytest
from PIL import Image

from orchestrator.cli import main
from trials.data import read_image
from trials.data.resize import matlab_bicubic_downsample

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "sr" / "benchmark" / "Set5").is_dir(),
                                reason=f"the benchmark images are not at {DATA} (see its README for the sources)")
CHECKPOINTS = DATA / "checkpoints" / "dlsr"
PSNR_TOLERANCE, SSIM_TOLERANCE = 0.02, 0.001


def evaluate(capsys, network: str, test_data: Path, sets: str, *flags: str) -> dict:
    """`python -m orchestrator evaluate ... --json --no-log`: the JSON it prints, which must be all of stdout."""
    capsys.readouterr()
    assert main(["evaluate", network, "--test-data", str(test_data), "--sets", sets, "--json", "--no-log",
                 *flags]) == 0
    return json.loads(capsys.readouterr().out)


def assert_near(result: dict, psnr: float, ssim: float | None = None) -> None:
    assert abs(result["psnr"] - psnr) <= PSNR_TOLERANCE, result
    if ssim is not None:
        assert abs(result["ssim"] - ssim) <= SSIM_TOLERANCE, result


@pytest.mark.parametrize(("scale", "set5", "set14"), [
    (2, (33.66, 0.9299), (30.24, 0.8687)),  # the literature's rows (SRCNN's, VDSR's, ... MATLAB scripts)
    (4, (28.42, 0.8104), (26.00, 0.7027)),
])
def test_bicubic_rows_of_the_literature(capsys, scale, set5, set14):
    """The MATLAB scripts behind these rows score Y rounded to 8 bits (rgb2ycbcr on uint8 images)."""
    result = evaluate(capsys, "bicubic", DATA / "sr" / "benchmark", "Set5,Set14", "--scale", str(scale),
                      "--set", "eval.round_y=true")
    assert_near(result["set5"][f"scale{scale}"], *set5)
    assert_near(result["set14"][f"scale{scale}"], *set14)


def test_bicubic_x2_as_the_authors_test_code_scores_it(capsys):
    """Float Y (BasicSR's and DLSR's authors' code): 33.68 / 0.9305 on Set5, as ../shared/data/README.md."""
    result = evaluate(capsys, "bicubic", DATA / "sr" / "benchmark", "Set5", "--scale", "2")
    assert_near(result["set5"]["scale2"], 33.68, 0.9305)


def test_noisy_input_scores_the_analytic_line_on_bsd68(capsys):
    for sigma, expected in ((15, 24.61), (25, 20.17), (50, 14.15)):
        result = evaluate(capsys, "noisy", DATA / "denoise", "BSD68", "--sigma", str(sigma))
        assert_near(result["bsd68"][f"sigma{sigma}"], expected)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The DLSR authors' two x2 checkpoints, imported as saved networks by the `import` command."""
    if not CHECKPOINTS.is_dir():
        pytest.skip(f"the DLSR authors' checkpoints are not at {CHECKPOINTS}")
    folder = tmp_path_factory.mktemp("imported")
    networks = {}
    for name, file in (("beta21", "RFDN_beta21_ps128_20210128_1000.pt"),
                       ("tiny", "RFDN_beta21_tiny18_ps128_20210306_lr4_700.pt")):
        networks[name] = folder / f"{name}.pt"
        assert main(["import", "dlsr", str(CHECKPOINTS / file), "-o", str(networks[name])]) == 0
    return networks


def test_dlsr_authors_beta21_reproduces_their_set5_and_set14(capsys, imported):
    result = evaluate(capsys, str(imported["beta21"]), DATA / "sr" / "benchmark", "Set5,Set14",
                      "--set", "eval.gray_images=rgb")  # as the authors' script scores Set14's gray bridge
    assert_near(result["set5"]["scale2"], 38.05, 0.9607)
    assert_near(result["set14"]["scale2"], 33.64, 0.9185)


def test_dlsr_authors_tiny_reproduces_their_set5(capsys, imported):
    result = evaluate(capsys, str(imported["tiny"]), DATA / "sr" / "benchmark", "Set5")
    assert_near(result["set5"]["scale2"], 37.72, 0.9596)


def test_an_imported_network_restores_an_image_with_apply(imported, tmp_path):
    """`apply` on the imported file: a Set5 LR image made by the protocol's bicubic, upscaled x2."""
    lr = matlab_bicubic_downsample(read_image(DATA / "sr" / "benchmark" / "Set5" / "HR" / "baby.png", True), 2)
    Image.fromarray((lr * 255).round().astype("uint8")).save(tmp_path / "lr.png")
    assert main(["apply", str(imported["tiny"]), str(tmp_path / "lr.png"), "-o", str(tmp_path / "sr.png")]) == 0
    with Image.open(tmp_path / "sr.png") as out:
        assert out.size == (lr.shape[1] * 2, lr.shape[0] * 2)


def test_float_scoring_reads_higher_than_the_published_8_bit_scoring(capsys, imported):
    """The one measured cause of the gap to the authors' test code: scoring the float output."""
    quantized = evaluate(capsys, str(imported["tiny"]), DATA / "sr" / "benchmark", "Set5")["set5"]["scale2"]
    floats = evaluate(capsys, str(imported["tiny"]), DATA / "sr" / "benchmark", "Set5",
                      "--set", "eval.quantize=false")["set5"]["scale2"]
    assert 0 < floats["psnr"] - quantized["psnr"] < 0.05
