"""Reference rows: what a table's numbers should be compared with, scored by the trials' own protocol.

A task names its references (``Task.references``): the degraded input itself (the noisy image, bicubic
upscaling of the LR image, the rainy image) and, where the dependencies have one, a classical method
(scikit-image's non-local means for denoising). ``trials.retrain.reference_metrics`` scores one on the same
test pairs, seeded degradation and protocol a trial of that config is scored on, under the same metric names,
so a table shows it as one more row.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from skimage.restoration import denoise_nl_means

from trials import metric_names as M
from trials.data import upscale
from trials.metrics import run_on_image

# (input image, condition, scale, trial config) -> output image
Restore = Callable[[np.ndarray, int, int, object], np.ndarray]


@dataclass(frozen=True)
class Reference:
    name: str  # short, for tags: noisy, nlm, bicubic, rainy
    label: str  # the table's row label
    restore: Restore
    # M.ROLE_INPUT: the degraded input as it is (bicubic upscaling at scale > 1), the floor any restoration
    # must beat (tables flag rows below it); M.ROLE_METHOD: a classical method to compare with.
    role: str = M.ROLE_INPUT
    # Scored as it is, neither clipped nor rounded to 8 bits: the network's own input (an unclipped noisy image
    # scores 20 log10(255 / sigma), the line of DnCNN's tables). Otherwise scored as a network's output.
    raw: bool = False
    conditions: tuple[int, ...] | None = None  # the only conditions it is scored at (a saved network: its own)

    @property
    def setting(self) -> str:
        return M.REFERENCE_PREFIX + self.name


def as_is(image: np.ndarray, condition: int, scale: int, cfg) -> np.ndarray:
    """The degraded input itself (at scale 1)."""
    return image


def bicubic_upscale(image: np.ndarray, condition: int, scale: int, cfg) -> np.ndarray:
    """The LR input upscaled by ``scale`` with the kernel that made it (``data.downsampling``: MATLAB's
    imresize, rounded to 8 bits, as the literature's bicubic rows)."""
    return upscale(image, scale, cfg.data.downsampling)


def non_local_means(image: np.ndarray, sigma: int, scale: int, cfg) -> np.ndarray:
    """scikit-image's non-local means told the noise level (its documented fast-mode setting h = 0.8 sigma)."""
    s = sigma / 255.0
    out = denoise_nl_means(np.clip(image, 0, 1), h=0.8 * s, sigma=s, patch_size=5, patch_distance=6,
                           fast_mode=True, channel_axis=-1)
    return out.reshape(image.shape).astype(np.float32)


def network_reference(name: str, net: torch.nn.Module, condition: int) -> Reference:
    """A saved network (e.g. a published one brought in by `import`) as a reference row, scored at its own
    condition on the trials' test pairs."""

    def restore(image: np.ndarray, condition: int, scale: int, cfg) -> np.ndarray:
        return run_on_image(net, image, scale=scale, tile=cfg.retrain.eval_tile)

    return Reference(name, f"{name} (saved network)", restore, M.ROLE_METHOD, conditions=(condition,))
