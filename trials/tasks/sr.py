"""Bicubic super-resolution (HiNAS Section 4.1): RGB images, metrics on Y with ``scale`` px shaved.

The search runs at ``search_scale``; each of ``scales`` is one retraining and one evaluation on every test set.
LR inputs are the data set's LR files where it has them, else bicubic downsampling, aligned once at load.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from search_space import NetworkIO
from trials.data import ImageSet, PatchSampler
from trials.metrics import Protocol
from trials.references import Reference, bicubic_upscale
from trials.tasks.base import TASKS, Task, TaskConfig

SCALES = (2, 3, 4)


@dataclass(frozen=True)
class SRConfig(TaskConfig):
    name: str = "sr"
    color: bool = True  # metrics then use the Y channel
    search_scale: int = 4
    scales: tuple[int, ...] = (4,)  # one retraining + evaluation each

    def __post_init__(self) -> None:
        for scale in (self.search_scale, *self.scales):
            if scale not in SCALES:
                raise ValueError(f"SR scale must be one of {SCALES}, got {scale}")
        if not self.scales:
            raise ValueError("task.scales needs at least one scale")


@TASKS.register
class SuperResolution(Task):
    name = "sr"
    config_class = SRConfig
    condition_column = "scale"

    def search_io(self, cfg: SRConfig) -> NetworkIO:
        return NetworkIO(cfg.channels, cfg.channels, cfg.search_scale)

    def conditions(self, cfg: SRConfig) -> tuple[int, ...]:
        return cfg.scales

    def condition_overrides(self, condition: int) -> dict[str, object]:
        return {"task.scales": condition, "task.search_scale": condition}

    def io(self, cfg: SRConfig, condition: int) -> NetworkIO:
        return NetworkIO(cfg.channels, cfg.channels, condition)

    def data_overrides(self, root: str, test_root: str | None) -> dict[str, object]:
        """DIV2K, or DF2K where the folder also holds Flickr2K (as DLSR trains), tested on the benchmarks."""
        kind = "df2k" if any((Path(root) / sub).is_dir() for sub in ("Flickr2K_HR", "Flickr2K")) else "div2k"
        return {"data.kind": kind, "data.root": root, "data.test_sets": "set5,set14,bsd100,urban100",
                "data.test_root": test_root or root}

    def sampler(self, cfg: SRConfig, images: ImageSet, crop_size: int, batch_size: int, seed: int,
                stream: str, condition: int | None = None) -> PatchSampler:
        scale = cfg.search_scale if condition is None else condition
        return PatchSampler(images.pairs(scale), crop_size, batch_size, seed, scale=scale, stream=stream)

    def val_pairs(self, cfg: SRConfig, images: ImageSet, seed: int) -> list:
        return images.pairs(cfg.search_scale)

    def test_pairs(self, cfg: SRConfig, images: ImageSet, condition: int, seed: int) -> list:
        return images.pairs(condition)

    def references(self, cfg) -> tuple[Reference, ...]:
        return (Reference("bicubic", "bicubic upscaling", bicubic_upscale),)

    def protocol(self, cfg: SRConfig, condition: int | None = None) -> Protocol:
        return Protocol(y_channel=True, shave=cfg.search_scale if condition is None else condition)

    def metric_condition(self, test_set: str, condition: int) -> str:
        return f"{test_set.lower()}_x{condition}"

    def parse_condition(self, metric_condition: str) -> tuple[str | None, int] | None:
        match = re.fullmatch(r"(.+)_x(\d+)", metric_condition)
        return (match.group(1), int(match.group(2))) if match else None

    def condition_label(self, metric_condition: str, set_labels: dict[str, str]) -> str:
        parsed = self.parse_condition(metric_condition)
        if parsed is None:
            return metric_condition
        return f"{set_labels.get(parsed[0], parsed[0])} ×{parsed[1]}"
