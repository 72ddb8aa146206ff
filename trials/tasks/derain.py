"""Single-image deraining (autoderain-spec 6-7): paired rainy/clean RGB images, the net restores at the input
size. Scored on the Y channel (MATLAB's rgb2ycbcr, as PReNet's statistics scripts) with no border crop, per
image and averaged; ``task.metric_space=RGB`` scores all channels instead (derain-toolbox's numbers).

Real sets bring their rainy images (``ImageSet.lr[1]``). A set without them (the built-in smoke set) gets
synthetic streaks (trials/data/rain.py): fresh rain on every training patch, as denoising draws fresh noise
(with five training images, rain fixed per image taught a net only five streak angles: +1 dB over the rainy
input where fresh rain gives +5.8 dB, both after 1200 steps), and rain fixed per image, the same for every
trial (``task.rain_seed``), on validation and test images.
There is one condition (the task's one retraining); tables have one column group per test set.
"""

import re
import zlib
from dataclasses import dataclass

from search_space import NetworkIO
from trials.data import DATA_KINDS, ImageSet, PatchSampler
from trials.data.derain import detect_derain_kind
from trials.data.rain import add_rain, with_synthetic_rain
from trials.metrics import Protocol
from trials.references import Reference, as_is
from trials.tasks.base import TASKS, Task, TaskConfig

METRIC_SPACES = ("Y", "RGB")
COMPLEXITY_SIZE = (256, 256)  # derain-toolbox quotes FLOPs (in fact multiply-adds) at 3x256x256
CONDITION = 1  # the only one: one retraining, one evaluation per test set


@dataclass(frozen=True)
class DerainConfig(TaskConfig):
    name: str = "derain"
    color: bool = True
    metric_space: str = "Y"  # Y (PReNet's tables) | RGB (derain-toolbox's)
    rain_seed: int = 0  # the built-in set's synthetic rain; real sets bring their own

    def __post_init__(self) -> None:
        if self.metric_space not in METRIC_SPACES:
            raise ValueError(f"task.metric_space must be one of {', '.join(METRIC_SPACES)}, got {self.metric_space!r}")
        if not self.color and self.metric_space == "Y":
            raise ValueError("task.metric_space=Y needs colour images (task.color=true); use RGB for gray ones")
        if self.rain_seed < 0:
            raise ValueError(f"task.rain_seed must be >= 0, got {self.rain_seed}")


@TASKS.register
class Derain(Task):
    name = "derain"
    config_class = DerainConfig
    condition_column = "derain"
    single_condition = True
    inferred_tag = "autoderain_inferred"

    def search_io(self, cfg: DerainConfig) -> NetworkIO:
        return NetworkIO(cfg.channels, cfg.channels, 1)

    def conditions(self, cfg: DerainConfig) -> tuple[int, ...]:
        return (CONDITION,)

    def io(self, cfg: DerainConfig, condition: int) -> NetworkIO:
        return self.search_io(cfg)

    def complexity_input(self, cfg: DerainConfig, condition: int) -> tuple[int, int]:
        return COMPLEXITY_SIZE

    def with_inputs(self, cfg: DerainConfig, images: ImageSet, split: str) -> ImageSet:
        """Test sets without rainy images get fixed synthetic rain; search sets stay clean (see ``sampler``)."""
        return images if split != "test" else _fixed_rain(cfg, images, "test")

    def data_overrides(self, root: str, test_root: str | None) -> dict[str, object]:
        """The training folder's layout (Rain100L/H, Rain1400, Rain800), tested on the test sets under
        ``test_root`` (default: the same kind's test set beside it)."""
        kind = detect_derain_kind(root)
        overrides: dict[str, object] = {"data.kind": kind, "data.root": root}
        if test_root is not None:
            overrides |= {"data.test_sets": kind, "data.test_root": test_root}
        return overrides

    def sampler(self, cfg: DerainConfig, images: ImageSet, crop_size: int, batch_size: int, seed: int,
                stream: str, condition: int | None = None) -> PatchSampler:
        synthetic = 1 not in images.lr
        return PatchSampler(images.pairs(1), crop_size, batch_size, seed, stream=stream,
                            degrade=add_rain if synthetic else None)

    def val_pairs(self, cfg: DerainConfig, images: ImageSet, seed: int) -> list:
        return _fixed_rain(cfg, images, "validation").pairs(1)

    def test_pairs(self, cfg: DerainConfig, images: ImageSet, condition: int, seed: int) -> list:
        return images.pairs(1)

    def references(self, cfg) -> tuple[Reference, ...]:
        return (Reference("rainy", "rainy input", as_is, raw=True),)

    def protocol(self, cfg: DerainConfig, condition: int | None = None) -> Protocol:
        return Protocol(y_channel=cfg.metric_space == "Y", shave=0)

    def metric_condition(self, test_set: str, condition: int) -> str:
        return test_set.lower()

    def condition_key(self, condition: int) -> str:
        return "derain"

    def parse_condition(self, metric_condition: str) -> tuple[str | None, int] | None:
        if metric_condition in DATA_KINDS:
            return metric_condition, CONDITION
        return None if not re.fullmatch(r"rain\w*", metric_condition) else (metric_condition, CONDITION)

    def condition_label(self, metric_condition: str, set_labels: dict[str, str]) -> str:
        return set_labels.get(metric_condition, metric_condition)


def _fixed_rain(cfg: DerainConfig, images: ImageSet, split: str) -> ImageSet:
    """The set's own rainy images, else synthetic streaks fixed by (rain_seed, split, image index)."""
    if 1 in images.lr:
        return images
    return with_synthetic_rain(images, zlib.crc32(f"{cfg.rain_seed}:{split}".encode()))
