"""Loss (Eq. 7) and report metrics: agreement with scikit-image, PSNR by hand, BT.601 Y, tiled inference."""

import math

import numpy as np
import pytest
import torch

from trials import losses, metrics
from trials.data import denoise_pairs, load_test_sets


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("sigma", [10, 30, 70])
def test_torch_ssim_matches_skimage(color, sigma):
    clean = load_test_sets(color=color)["builtin"].images
    for noisy, target in denoise_pairs(clean, sigma, seed=1):
        noisy = np.clip(noisy, 0, 1)
        ours = losses.differentiable_ssim(_tensor(noisy), _tensor(target)).item()
        assert ours == pytest.approx(metrics.ssim(noisy, target), abs=1e-3)


def test_loss_combines_pixel_and_log_ssim():
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.random((2, 1, 32, 32), dtype=np.float32))
    pred = target + 0.1 * torch.from_numpy(rng.standard_normal((2, 1, 32, 32), dtype=np.float32))
    total, parts = losses.restoration_loss(pred, target, lam=0.6, pixel="l1")
    assert parts["pixel"].item() == pytest.approx((pred - target).abs().mean().item(), rel=1e-6)
    assert parts["ssim"].item() == pytest.approx(-math.log10(losses.differentiable_ssim(pred, target).item()), rel=1e-5)
    assert total.item() == pytest.approx(parts["pixel"].item() + 0.6 * parts["ssim"].item(), rel=1e-6)


def test_loss_finite_when_ssim_not_positive():
    target = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    pred = (1 - target).requires_grad_()  # inverted contrast: SSIM < 0
    assert losses.differentiable_ssim(pred, target).item() <= 0
    total, parts = losses.restoration_loss(pred, target, lam=0.6)
    total.backward()
    assert torch.isfinite(total) and parts["ssim"].item() == pytest.approx(3.0)
    assert torch.isfinite(pred.grad).all()


def test_psnr_is_ten_log10_of_inverse_mse():
    rng = np.random.default_rng(0)
    target = rng.random((20, 30, 1))
    pred = np.clip(target + 0.05 * rng.standard_normal(target.shape), 0, 1)
    assert metrics.psnr(pred, target) == pytest.approx(10 * math.log10(1 / np.mean((pred - target) ** 2)))


def test_psnr_clips_prediction_to_unit_range():
    target = np.full((8, 8, 1), 0.8)
    assert metrics.psnr(target + 0.5, target) == pytest.approx(10 * math.log10(1 / 0.2**2))


@pytest.mark.parametrize(
    "rgb, y",
    [
        ((0, 0, 0), 16 / 255),
        ((1, 1, 1), 235 / 255),
        ((1, 0, 0), (16 + 65.481) / 255),
        ((0, 1, 0), (16 + 128.553) / 255),
        ((0, 0, 1), (16 + 24.966) / 255),
    ],
)
def test_y_channel_is_bt601(rgb, y):
    image = np.broadcast_to(np.array(rgb, dtype=np.float32), (4, 4, 3))
    assert metrics.rgb_to_y(image) == pytest.approx(np.full((4, 4, 1), y), abs=1e-6)


def test_sr_protocol_view_shaves_scale_pixels_of_y():
    image = np.random.default_rng(0).random((20, 24, 3))
    view = metrics.view(image, metrics.Protocol(y_channel=True, shave=3))
    assert view.shape == (14, 18, 1)
    assert view[0, 0, 0] == pytest.approx(metrics.rgb_to_y(image)[3, 3, 0])


def _conv_net(kernel_size: int, in_channels: int, out_channels: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


@pytest.mark.parametrize("tile, overlap", [(16, 4), (24, 8), (50, 10)])
def test_tiled_inference_equals_whole_image_for_per_pixel_net(tile, overlap):
    net = _conv_net(1, 3, 3)
    image = np.random.default_rng(0).random((45, 61, 3), dtype=np.float32)
    whole = metrics.run_on_image(net, image)
    np.testing.assert_array_equal(metrics.run_on_image(net, image, tile=tile, overlap=overlap), whole)


def test_tiled_sr_output_is_scale_times_larger():
    net = torch.nn.Sequential(_conv_net(1, 1, 4), torch.nn.PixelShuffle(2))
    image = np.random.default_rng(0).random((30, 41, 1), dtype=np.float32)
    whole = metrics.run_on_image(net, image, scale=2)
    tiled = metrics.run_on_image(net, image, scale=2, tile=16, overlap=6)
    assert whole.shape == (60, 82, 1)
    np.testing.assert_array_equal(tiled, whole)
