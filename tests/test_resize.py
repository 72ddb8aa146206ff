"""MATLAB's imresize in numpy (trials/data/resize.py): the kernel's known values, its border and shape rules, and
the literature's bicubic rows on Set5/Set14 from ../shared/data (skipped where the images are absent)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trials.data.resize import imresize, matlab_bicubic_downsample, matlab_bicubic_upscale, to_uint8_levels
from trials.metrics import psnr, rgb_to_y, ssim

BENCHMARK = Path(__file__).resolve().parents[2] / "shared" / "data" / "sr" / "benchmark"
PSNR_TOLERANCE, SSIM_TOLERANCE = 0.02, 0.001

# Keys' kernel (a = -0.5) at 0.25, 0.75, 1.25, 1.75: the weights of an x2 enlargement
K25, K75, K125, K175 = 0.8671875, 0.2265625, -0.0703125, -0.0234375


def impulse(shape: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    image = np.zeros((*shape, 1))
    image[at] = 1.0
    return image


def test_shrinking_by_2_uses_the_a_minus_half_kernel_widened_to_8_taps():
    """An impulse at 0-based row/column 8 of 16: output k reads u = 2k + 1.5 (0-based 2k + 0.5), weights
    kernel(d / 2) / 2 over 8 input pixels (torch's non-antialiased kernel would reach 4, with a = -0.75)."""
    column = np.zeros(8)
    column[2:6] = np.array([K175, K75, K25, K125]) / 2  # distances -3.5, -1.5, 0.5, 2.5 -> halved
    out = imresize(impulse((16, 16), (8, 8)), 0.5)[..., 0]
    np.testing.assert_allclose(out, np.outer(column, column), atol=1e-7)


def test_enlarging_mirrors_taps_past_the_border():
    """At x2, output rows 0, 1, 2 (0-based) read u = 0.75, 1.25, 1.75 (1-based); taps 0 and -1 mirror to pixels 1
    and 2, so pixel 1 weighs K75 + K25, K125 + K25, K175 + K75 (edge replication would give pixel 1 also the
    tap at -1: K175 + K75 + K25 at u = 0.75)."""
    out = imresize(impulse((8, 8), (0, 0)), 2.0)[..., 0]
    along = np.array([K75 + K25, K125 + K25, K175 + K75, K125, K175, 0.0])  # u = 2.25, 2.75, 3.25: no mirroring
    np.testing.assert_allclose(out[:6, :6], np.outer(along, along), atol=1e-7)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("shrink", [True, False])
def test_a_constant_image_stays_constant(scale, shrink):
    """Weights sum to 1 for every output pixel, borders included, on sizes that are not multiples of the scale."""
    image = np.full((23, 17, 3), 0.3)
    out = imresize(image, 1 / scale if shrink else scale)
    np.testing.assert_allclose(out, 0.3, atol=1e-6)


@pytest.mark.parametrize(("scale", "shape"), [(0.5, (4, 6)), (1 / 3, (3, 4)), (0.25, (2, 3)), (3, (21, 33))])
def test_output_shape_is_the_ceiling_of_size_times_scale(scale, shape):
    out = imresize(np.random.default_rng(0).random((7, 11, 2)), scale)
    assert out.shape == (*shape, 2) and out.dtype == np.float32


def test_enlarging_reproduces_a_quadratic_away_from_the_borders():
    """a = -0.5 is the cubic convolution that is exact on quadratics (a = -0.75, torch's default, is not):
    output x (1-based) reads u = x/s + (1 - 1/s)/2, so rows sampled from i^2 come out as u^2."""
    rows = np.arange(1, 21, dtype=np.float64) ** 2
    out = imresize(np.repeat(rows[:, None, None], 5, axis=1), 3.0)[:, 2, 0]
    u = np.arange(1, 61) / 3 + (1 - 1 / 3) / 2
    inner = (u > 3) & (u < 18)  # all four taps inside the image
    np.testing.assert_allclose(out[inner], u[inner] ** 2, rtol=1e-6)


def test_enlarging_by_3_passes_through_the_samples():
    """Odd scales put every third output exactly on an input pixel, where the kernel is 1 there and 0 at the
    other taps."""
    image = np.random.default_rng(1).random((9, 10, 3))
    np.testing.assert_allclose(imresize(image, 3.0)[1::3, 1::3], image, atol=1e-6)


def test_shrinking_by_2_is_near_2x2_averaging_only_on_smooth_images():
    """The antialiasing kernel spans 8 pixels with negative lobes: white noise is filtered differently from the
    2x2 box, a smooth image hardly."""
    def box(image: np.ndarray) -> np.ndarray:
        return image.reshape(image.shape[0] // 2, 2, image.shape[1] // 2, 2, -1).mean(axis=(1, 3))

    noise = np.random.default_rng(2).random((64, 64, 1))
    yy, xx = np.mgrid[0:64, 0:64] / 64
    smooth = (0.5 + 0.4 * np.sin(2 * np.pi * xx) * np.cos(np.pi * yy))[..., None]
    assert np.abs(imresize(noise, 0.5) - box(noise)).mean() > 0.03
    assert np.abs(imresize(smooth, 0.5) - box(smooth)).max() < 2e-3


def test_rounding_to_8_bit_levels_is_half_away_from_zero_after_clipping():
    values = np.array([-0.2, 0.5 / 255, 0.49 / 255, 127.5 / 255, 1.3])
    np.testing.assert_array_equal(to_uint8_levels(values) * 255, np.float32([0, 1, 0, 128, 255]))


def test_the_literatures_lr_is_modcropped_shrunk_and_on_8_bit_levels():
    hr = np.random.default_rng(3).random((29, 31, 3)).astype(np.float32)
    lr = matlab_bicubic_downsample(hr, 4)
    assert lr.shape == (7, 7, 3)
    np.testing.assert_array_equal(lr, to_uint8_levels(imresize(hr[:28, :28], 0.25)))
    np.testing.assert_array_equal(lr * 255, np.round(lr * 255))
    assert matlab_bicubic_upscale(lr, 4).shape == (28, 28, 3)


# The literature's bicubic rows (SRCNN, VDSR, EDSR tables; MATLAB: imresize on uint8, Y of rgb2ycbcr on uint8,
# which rounds Y to 8 bits) and what the brief's protocol (float Y) gives: a MATLAB-style reimplementation
# (BasicSR's) measures 33.68 / 0.9305 on Set5 x2 there, 0.02 dB above the table.
ROWS = [
    ("Set5", 2, True, 33.66, 0.9299), ("Set5", 4, True, 28.42, 0.8104),
    ("Set14", 2, True, 30.24, 0.8688), ("Set14", 4, True, 26.00, 0.7027),
    ("Set5", 2, False, 33.68, 0.9305), ("Set5", 4, False, 28.42, 0.8104),
    ("Set14", 2, False, 30.24, 0.8688), ("Set14", 4, False, 26.00, 0.7027),
]


def luma(image: np.ndarray, round_y: bool) -> np.ndarray:
    """What is scored: BT.601 Y of a colour image (rounded to 8 bits as MATLAB's rgb2ycbcr on uint8 if asked),
    a gray file's values as they are."""
    if image.shape[2] == 1:
        return image.astype(np.float64)
    y = rgb_to_y(image)
    return to_uint8_levels(y).astype(np.float64) if round_y else y


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as pil:
        pixels = np.asarray(pil)
    return (pixels if pixels.ndim == 3 else pixels[..., None]).astype(np.float32) / 255.0


_pairs: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray]]] = {}


def bicubic_pairs(name: str, scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(bicubic SR, HR), HR modcropped, for every image of a set; made once per set and scale."""
    folder = BENCHMARK / name / "HR"
    if not folder.is_dir():
        pytest.skip(f"the {name} benchmark images are not at {folder} (../shared/data next to the repository)")
    if (name, scale) not in _pairs:
        pairs = []
        for path in sorted(folder.glob("*.png")):
            hr = read_png(path)
            hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
            pairs.append((matlab_bicubic_upscale(matlab_bicubic_downsample(hr, scale), scale), hr))
        _pairs[name, scale] = pairs
    return _pairs[name, scale]


@pytest.mark.parametrize(("name", "scale", "round_y", "psnr_target", "ssim_target"), ROWS)
def test_bicubic_row_matches_the_literature(name, scale, round_y, psnr_target, ssim_target):
    s = scale
    scores = [(psnr(a, b), ssim(a, b)) for a, b in (
        (luma(sr, round_y)[s:-s, s:-s], luma(hr, round_y)[s:-s, s:-s]) for sr, hr in bicubic_pairs(name, s))]
    mean_psnr, mean_ssim = np.mean(scores, axis=0)
    assert abs(mean_psnr - psnr_target) <= PSNR_TOLERANCE, (mean_psnr, mean_ssim)
    assert abs(mean_ssim - ssim_target) <= SSIM_TOLERANCE, (mean_psnr, mean_ssim)
