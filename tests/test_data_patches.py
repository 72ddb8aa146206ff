"""Training batches: pure function of (seed, stream, step), worker-count independent, SR pairs aligned."""

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from trials.data import DataError, ImageSet, PatchSampler, bicubic_downsample, load_search_set, make_loader

SCALE, LR_CROP = 4, 8


@pytest.fixture(scope="module")
def gray():
    return load_search_set(color=False).images


def _sampler(images, **overrides) -> PatchSampler:
    """Denoising batches: clean pairs with noise of a level drawn from ``sigmas`` per sample."""
    options = dict(crop_size=32, batch_size=4, seed=5, sigmas=(30, 50, 70)) | overrides
    return PatchSampler([(image, image) for image in images], **options)


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_same_seed_and_step_same_batch(gray):
    _assert_same(_sampler(gray).batch(7), _sampler(gray).batch(7))


@pytest.mark.parametrize("change", [dict(seed=6), dict(stream="train_a")])
def test_other_step_seed_or_stream_other_batch(gray, change):
    batch = _sampler(gray).batch(7)
    for other in (_sampler(gray).batch(8), _sampler(gray, **change).batch(7)):
        assert not torch.equal(batch[0], other[0])


def test_batch_shapes_noise_and_sigmas(gray):
    noisy, clean = _sampler(gray, batch_size=6, sigmas=(30, 50, 70)).batch(0)
    assert noisy.shape == clean.shape == (6, 1, 32, 32) and noisy.dtype == torch.float32
    stds = (noisy - clean).flatten(1).std(dim=1) * 255
    assert all(min(abs(s - sigma) for sigma in (30, 50, 70)) < 5 for s in stds.tolist())
    single = _sampler(gray, sigmas=50).batch(0)
    assert ((single[0] - single[1]).std() * 255).item() == pytest.approx(50, rel=0.05)


def test_crops_describe_the_batch(gray):
    sampler = _sampler(gray, augment=False)
    _, clean = sampler.batch(3)
    for crop, patch in zip(sampler.crops(3), clean, strict=True):
        expected = gray[crop.image][crop.y : crop.y + 32, crop.x : crop.x + 32, 0]
        np.testing.assert_array_equal(patch[0].numpy(), expected)


def test_loader_resumes_and_ignores_worker_count(gray):
    sampler = _sampler(gray)
    serial = list(make_loader(sampler, start_step=10, num_workers=0, num_steps=5))
    parallel = list(make_loader(sampler, start_step=10, num_workers=2, num_steps=5))
    assert len(serial) == len(parallel) == 5
    for step, (a, b) in enumerate(zip(serial, parallel, strict=True), start=10):
        _assert_same(a, b)
        _assert_same(a, sampler.batch(step))


def test_crop_larger_than_image_is_a_data_error(gray):
    with pytest.raises(DataError, match="smaller than the 300px crop"):
        _sampler(gray, crop_size=300)


def _undo(patch: np.ndarray, k: int, hflip: bool, vflip: bool) -> np.ndarray:
    patch = patch[::-1] if vflip else patch
    patch = patch[:, ::-1] if hflip else patch
    return np.rot90(patch, -k, axes=(0, 1))


def _locate(lr_patch: np.ndarray, lr: np.ndarray) -> tuple[int, int, int, bool, bool]:
    """Where (and under which rotation/flips) an LR patch sits in the full LR image: exhaustive search."""
    windows = sliding_window_view(lr, lr_patch.shape)[:, :, 0]
    for k in range(4):
        for hflip in (False, True):
            for vflip in (False, True):
                hits = np.argwhere((windows == _undo(lr_patch, k, hflip, vflip)).all(axis=(2, 3, 4)))
                if len(hits):
                    return int(hits[0][0]), int(hits[0][1]), k, hflip, vflip
    raise AssertionError("LR patch is not a rotated/flipped window of the LR image")


def test_sr_patches_stay_aligned_under_crops_and_augmentation():
    rng = np.random.default_rng(0)
    hr = rng.random((70, 62, 3), dtype=np.float32)  # not a multiple of the scale on purpose
    lr = bicubic_downsample(hr, SCALE)
    pairs = ImageSet("one", [hr], ("hr",), {SCALE: [lr]}).pairs(SCALE)
    sampler = PatchSampler(pairs, LR_CROP, batch_size=16, seed=1, scale=SCALE)
    lr_patches, hr_patches = (t.numpy().transpose(0, 2, 3, 1) for t in sampler.batch(0))
    assert lr_patches.shape[1:] == (LR_CROP, LR_CROP, 3) and hr_patches.shape[1:] == (32, 32, 3)
    for lr_patch, hr_patch in zip(lr_patches, hr_patches, strict=True):
        y, x, k, hflip, vflip = _locate(lr_patch, lr)
        hr_window = hr[y * SCALE : (y + LR_CROP) * SCALE, x * SCALE : (x + LR_CROP) * SCALE]
        np.testing.assert_array_equal(_undo(hr_patch, k, hflip, vflip), hr_window)
        # away from the patch border (kernel support: 2 LR px) downsampling the HR patch gives the LR patch
        np.testing.assert_allclose(
            bicubic_downsample(hr_patch, SCALE)[2:-2, 2:-2], lr_patch[2:-2, 2:-2], atol=1e-5
        )


def test_sr_sampler_uses_given_lr_images():
    hr = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    lr = np.random.default_rng(1).random((16, 16, 3), dtype=np.float32)
    pairs = ImageSet("one", [hr], ("hr",), {4: [lr]}).pairs(4)
    sampler = PatchSampler(pairs, 16, batch_size=1, seed=0, scale=4, augment=False)
    lr_patch, hr_patch = sampler.batch(0)
    np.testing.assert_array_equal(lr_patch[0].numpy().transpose(1, 2, 0), lr)
    np.testing.assert_array_equal(hr_patch[0].numpy().transpose(1, 2, 0), hr)
