"""Evaluation noise is fixed by (image, sigma, seed) in every process; bicubic LR and eval pair shapes."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trials.data import DataError, ImageSet, bicubic_downsample, denoise_pairs, load_test_sets
from trials.data.degrade import align_lr

NOISE_DIGEST = (
    "import hashlib; from trials.data import denoise_pairs, load_test_sets; "
    "pairs = denoise_pairs(load_test_sets(color=False)['builtin'].images, 50, seed=7); "
    "print(hashlib.sha256(b''.join(noisy.tobytes() for noisy, _ in pairs)).hexdigest())"
)


def _digest_in_new_process() -> str:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", NOISE_DIGEST],
        cwd=root,
        # The caller's environment: OpenBLAS picks its kernels (and so the resized images' last bits) from
        # OPENBLAS_CORETYPE where it is set, else from the CPU, and a new process should see the same.
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def clean():
    return load_test_sets(color=False)["builtin"].images


def test_eval_noise_same_across_calls(clean):
    first, second = denoise_pairs(clean, 50, seed=7), denoise_pairs(clean, 50, seed=7)
    for (a, target), (b, _) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32 and a.shape == target.shape


def test_eval_noise_same_across_processes(clean):
    here = hashlib.sha256(b"".join(noisy.tobytes() for noisy, _ in denoise_pairs(clean, 50, seed=7)))
    assert _digest_in_new_process() == here.hexdigest()


@pytest.mark.parametrize("sigma, seed", [(30, 7), (50, 8)])
def test_eval_noise_differs_for_other_sigma_or_seed(clean, sigma, seed):
    noise = [noisy - target for noisy, target in denoise_pairs(clean, 50, seed=7)]
    other = [(noisy - target) / sigma * 50 for noisy, target in denoise_pairs(clean, sigma, seed)]
    assert not any(np.allclose(a, b, atol=1e-3) for a, b in zip(noise, other, strict=True))


def test_eval_noise_has_requested_std_and_is_not_clipped(clean):
    noisy, target = denoise_pairs(clean, 70, seed=0)[0]
    assert np.std(noisy - target) == pytest.approx(70 / 255, rel=0.02)
    assert noisy.min() < 0 and noisy.max() > 1


def test_bicubic_downsample_crops_to_multiple_of_scale():
    hr = np.random.default_rng(0).random((50, 37, 3), dtype=np.float32)
    lr = bicubic_downsample(hr, 3)
    assert lr.shape == (16, 12, 3) and lr.dtype == np.float32


def test_bicubic_downsample_keeps_constant_image():
    hr = np.full((32, 32, 1), 0.25, dtype=np.float32)
    np.testing.assert_allclose(bicubic_downsample(hr, 4), 0.25, atol=1e-6)


def test_sr_pairs_make_or_align_lr():
    hr = np.random.default_rng(0).random((50, 37, 3), dtype=np.float32)
    ((lr, target),) = ImageSet("one", [hr], ("a",), {4: [bicubic_downsample(hr, 4)]}).pairs(4)
    assert lr.shape == (12, 9, 3) and target.shape == (48, 36, 3)
    ceil_lr = np.zeros((13, 10, 3), dtype=np.float32)  # the ceil(H/s) convention of some LR files
    lr, target = align_lr(ceil_lr, hr, 4)
    assert lr.shape == (12, 9, 3) and target.shape == (48, 36, 3)
    with pytest.raises(DataError, match="does not match HR"):
        align_lr(np.zeros((20, 10, 3), dtype=np.float32), hr, 4)
    with pytest.raises(DataError, match=r"expected about \(13, 9\), as HR is LR x 4 plus fewer than 4 px"):
        align_lr(np.zeros((12, 9, 3), dtype=np.float32), np.zeros((52, 37, 3), dtype=np.float32), 4)  # 4 rows over
