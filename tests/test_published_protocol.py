"""The published protocol reproduces published figures through the project's own commands (`evaluate`,
`import`), on the real benchmark images in ../shared/data (skipped where it is absent: a user's fresh clone)."""

import json
from pathlib import Path

import pytest

from orchestrator.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "sr" / "benchmark" / "Set5").is_dir(),
                                reason=f"the benchmark images are not at {DATA} (see its README for the sources)")
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
