"""Reference rows: what a table's numbers should be compared with, scored by the trials' own protocol.

A task names its references (``Task.references``): the degraded input itself (the noisy image, bicubic
upscaling of the LR image, the rainy image) and, where the dependencies have one, a classical method
(scikit-image's non-local means for denoising). ``reference_metrics`` scores one on the same test pairs,
seeded degradation and protocol a trial of that config is scored on, under the same metric names, so a
table shows it as one more row.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from skimage.restoration import denoise_nl_means

from trials import metric_names as M
from trials.metrics import evaluate


@dataclass(frozen=True)
class Reference:
    name: str  # short, for tags: noisy, nlm, bicubic, rainy
    label: str  # the table's row label
    restore: Callable[[np.ndarray, int, int], np.ndarray]  # (input image, condition, scale) -> output image
    # M.ROLE_INPUT: the degraded input as it is (bicubic upscaling at scale > 1), the floor any restoration
    # must beat (tables flag rows below it); M.ROLE_METHOD: a classical method to compare with.
    role: str = M.ROLE_INPUT

    @property
    def setting(self) -> str:
        return M.REFERENCE_PREFIX + self.name


def as_is(image: np.ndarray, condition: int, scale: int) -> np.ndarray:
    """The degraded input itself (at scale 1)."""
    return image


def bicubic_upscale(image: np.ndarray, condition: int, scale: int) -> np.ndarray:
    """The LR input upscaled by ``scale`` with bicubic interpolation (torch, as the downsampling)."""
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    return up[0].numpy().transpose(1, 2, 0)


def non_local_means(image: np.ndarray, sigma: int, scale: int) -> np.ndarray:
    """scikit-image's non-local means told the noise level (its documented fast-mode setting h = 0.8 sigma)."""
    s = sigma / 255.0
    out = denoise_nl_means(np.clip(image, 0, 1), h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
                           fast_mode=True, channel_axis=-1)
    return out.reshape(image.shape).astype(np.float32)


def reference_metrics(cfg, reference: Reference, tests: dict | None = None) -> dict[str, float]:
    """PSNR/SSIM of ``reference`` per (test set, condition) of ``cfg`` (its seed fixes the degradation)."""
    from trials.tasks import TASKS  # deferred: tasks import this module for their reference lists
    from trials.workload import load_tests  # deferred: as above (workload imports the tasks)

    task = TASKS.get(cfg.task.name)
    tests = load_tests(cfg, task) if tests is None else tests
    out = {}
    for condition in task.conditions(cfg.task):
        protocol, scale = task.protocol(cfg.task, condition), task.io(cfg.task, condition).scale
        for name, image_set in tests.items():
            pairs = task.test_pairs(cfg.task, image_set, condition, cfg.seed)
            scores = [evaluate(reference.restore(x, condition, scale), y, protocol) for x, y in pairs]
            key = task.metric_condition(name, condition)
            out[M.psnr(key)] = float(np.mean([p for p, _ in scores]))
            out[M.ssim(key)] = float(np.mean([s for _, s in scores]))
    return out
