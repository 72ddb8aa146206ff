"""Gaussian denoising (HiNAS Section 4.1): gray images, noise of std sigma/255 added on the fly.

The search draws sigma per sample from ``search_sigmas``; each of ``sigmas`` is one retraining and one
evaluation on the test images with noise fixed per (image, sigma, seed).
"""

import re
from dataclasses import dataclass

from search_space import NetworkIO
from trials import metric_names as M
from trials.data import ImageSet, PatchSampler, denoise_pairs
from trials.metrics import Protocol
from trials.references import Reference, as_is, non_local_means
from trials.tasks.base import TASKS, Task, TaskConfig

SIGMAS = (15, 25, 30, 50, 70)
# The test sets used without data.test_sets (built-in, BSD500's test split): one per run, so their metric
# names carry no test set.
UNNAMED_TEST_SETS = ("builtin", "bsd200")


@dataclass(frozen=True)
class DenoiseConfig(TaskConfig):
    name: str = "denoise"
    color: bool = False  # the paper denoises gray images
    search_sigmas: tuple[int, ...] = (30, 50, 70)  # drawn per training sample during the search
    sigmas: tuple[int, ...] = (30, 50, 70)  # one retraining + evaluation each
    clip_noise: bool = False  # noisy images clipped to [0, 1]; False: unclipped, as DnCNN's published rows

    def __post_init__(self) -> None:
        for sigma in (*self.search_sigmas, *self.sigmas):
            if sigma not in SIGMAS:
                raise ValueError(f"unknown noise level sigma={sigma}; choose from {SIGMAS}")
        if not self.search_sigmas or not self.sigmas:
            raise ValueError("task.search_sigmas and task.sigmas need at least one noise level")


@TASKS.register
class Denoise(Task):
    name = "denoise"
    config_class = DenoiseConfig
    condition_column = "sigma"

    def search_io(self, cfg: DenoiseConfig) -> NetworkIO:
        return NetworkIO(cfg.channels, cfg.channels, 1)

    def conditions(self, cfg: DenoiseConfig) -> tuple[int, ...]:
        return cfg.sigmas

    def condition_overrides(self, condition: int) -> dict[str, object]:
        return {"task.sigmas": condition, "task.search_sigmas": condition}

    def io(self, cfg: DenoiseConfig, condition: int) -> NetworkIO:
        return self.search_io(cfg)

    def default_test_sources(self, cfg: DenoiseConfig, data) -> dict[str, str | None] | None:
        # BSD500's own test split (200 images) when the search images are BSD500; else the built-in test set
        return {"bsd500": data.root} if data.kind == "bsd500" else None

    def data_overrides(self, root: str, test_root: str | None) -> dict[str, object]:
        return {"data.kind": "bsd500", "data.root": root}

    def sampler(self, cfg: DenoiseConfig, images: ImageSet, crop_size: int, batch_size: int, seed: int,
                stream: str, condition: int | None = None) -> PatchSampler:
        sigmas = cfg.search_sigmas if condition is None else (condition,)
        return PatchSampler(images.pairs(), crop_size, batch_size, seed, sigmas=sigmas, stream=stream,
                            clip_noise=cfg.clip_noise)

    def val_pairs(self, cfg: DenoiseConfig, images: ImageSet, seed: int) -> list:
        return [p for sigma in cfg.search_sigmas for p in denoise_pairs(images.images, sigma, seed, cfg.clip_noise)]

    def test_pairs(self, cfg: DenoiseConfig, images: ImageSet, condition: int, seed: int) -> list:
        return denoise_pairs(images.images, condition, seed, cfg.clip_noise)

    def references(self, cfg) -> tuple[Reference, ...]:
        return (Reference("noisy", "noisy input", as_is, raw=True),
                Reference("nlm", "non-local means (scikit-image, told σ)", non_local_means, M.ROLE_METHOD))

    def protocol(self, cfg: DenoiseConfig, condition: int | None = None) -> Protocol:
        return Protocol()

    def protocol_notes(self, cfg: DenoiseConfig) -> tuple[str, ...]:
        return ("noisy inputs clipped to [0, 1]" if cfg.clip_noise else "noisy inputs unclipped",)

    def metric_condition(self, test_set: str, condition: int) -> str:
        """'sigma30' on the default test sets (as ever), 'bsd68_sigma30' on named ones (several per run)."""
        unnamed = not test_set or test_set in UNNAMED_TEST_SETS
        return f"sigma{condition}" if unnamed else f"{test_set.lower()}_sigma{condition}"

    def parse_condition(self, metric_condition: str) -> tuple[str | None, int] | None:
        match = re.fullmatch(r"(?:(.+)_)?sigma(\d+)", metric_condition)
        return (match.group(1), int(match.group(2))) if match else None

    def condition_label(self, metric_condition: str, set_labels: dict[str, str]) -> str:
        parsed = self.parse_condition(metric_condition)
        if parsed is None:
            return metric_condition
        test_set, sigma = parsed
        return f"σ={sigma}" if test_set is None else f"{set_labels.get(test_set, test_set)} σ={sigma}"
