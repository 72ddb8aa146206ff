"""What a restoration task is: its conditions, the network's I/O, its data, its sampler and its evaluation.

A task is found by the name its config section carries and bound to that section once per config
(``cfg.components.task``, a ``BoundTask``); the pipeline, the search loop and retraining only call the
methods below through it. A condition is one retraining and one evaluation
(a noise level, an upscale factor, ...); the table shows one column group per (test set, condition).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from search_space import NetworkIO
from search_space.registry import Registry
from trials.complexity import input_size
from trials.data import DATA_KINDS, ImageSet, Pair, PatchSampler
from trials.metrics import Protocol
from trials.references import Reference, as_is


@dataclass(frozen=True)
class TaskConfig:
    """Base of every task's config section; ``name`` is the registry key of the task."""

    name: str
    color: bool  # RGB (True) or gray (False) images, read and evaluated as such

    @property
    def channels(self) -> int:
        return 3 if self.color else 1


class Task(ABC):
    name: ClassVar[str]
    config_class: ClassVar[type[TaskConfig]]
    condition_column: ClassVar[str]  # what a condition is, for tables and messages: "sigma", "scale"
    single_condition: ClassVar[bool] = False  # one retraining only (deraining): no condition to choose
    inferred_tag: ClassVar[str | None] = None  # its settings are our design, not a paper's: runs get this tag

    @abstractmethod
    def search_io(self, cfg: TaskConfig) -> NetworkIO:
        """The supernet's I/O during the search."""

    @abstractmethod
    def conditions(self, cfg: TaskConfig) -> tuple[int, ...]:
        """One retraining and evaluation each."""

    @abstractmethod
    def io(self, cfg: TaskConfig, condition: int) -> NetworkIO:
        """The derived network's I/O for one condition."""

    def condition_overrides(self, condition: int) -> dict[str, object]:
        """Config overrides for a trial of this one condition (``evaluate`` at --sigma 15, --scale 2, ...)."""
        return {}

    def scales(self, cfg: TaskConfig) -> tuple[int, ...]:
        """Every input->output scale the trial uses (search and conditions): the loader aligns pairs for each."""
        return tuple(sorted({self.search_io(cfg).scale, *(self.io(cfg, c).scale for c in self.conditions(cfg))}))

    def references(self, cfg: TaskConfig) -> tuple[Reference, ...]:
        """What the tables compare trials with (``trials.references``). Default: the degraded input itself."""
        return (Reference("input", "degraded input", as_is, raw=True),)

    def complexity_input(self, cfg: TaskConfig, condition: int) -> tuple[int, int]:
        """The input (height, width) Mult-Adds are counted at: a 1280x720 output (SR papers' convention)."""
        return input_size(self.io(cfg, condition).scale)

    def with_inputs(self, cfg: TaskConfig, images: ImageSet, split: str) -> ImageSet:
        """The set with degraded inputs fixed at load where the task makes them so (deraining's synthetic rain
        on the built-in set); ``split`` is 'search' or 'test'. Default: as loaded."""
        return images

    def test_sources(self, cfg: TaskConfig, data) -> dict[str, str | None] | None:
        """Test set kind -> folder (``trials.data.load_test_sets``): those ``data.test_sets`` names, found in
        ``data.test_root``; without any, ``default_test_sources``."""
        if not data.test_sets:
            return self.default_test_sources(cfg, data)
        folders = {name: DATA_KINDS.get(name).folder_in(data.test_root) for name in data.test_sets}
        return {name: None if folder is None else str(folder) for name, folder in folders.items()}

    def default_test_sources(self, cfg: TaskConfig, data) -> dict[str, str | None] | None:
        """The test sets when ``data.test_sets`` names none; None: the built-in test set."""
        return None

    @abstractmethod
    def sampler(self, cfg: TaskConfig, images: ImageSet, crop_size: int, batch_size: int, seed: int,
                stream: str, condition: int | None = None) -> PatchSampler:
        """Training batches of ``images``: for the search (condition None) or for one condition's retraining."""

    @abstractmethod
    def val_pairs(self, cfg: TaskConfig, images: ImageSet, seed: int) -> list[Pair]:
        """Whole-image validation pairs of the search."""

    @abstractmethod
    def test_pairs(self, cfg: TaskConfig, images: ImageSet, condition: int, seed: int) -> list[Pair]: ...

    @abstractmethod
    def protocol(self, cfg: TaskConfig, condition: int | None = None) -> Protocol:
        """How outputs are scored (channels, border), for the search (None) or one condition."""

    def protocol_notes(self, cfg: TaskConfig) -> tuple[str, ...]:
        """What else about the task's test pairs a reader must know to compare numbers (the noise model)."""
        return ()

    @abstractmethod
    def metric_condition(self, test_set: str, condition: int) -> str:
        """The name of one (test set, condition) cell in metric names: 'sigma30', 'set5_x4'."""

    def condition_key(self, condition: int) -> str:
        """A condition without a test set, for per-network metrics: 'sigma30', 'scale4'."""
        return f"{self.condition_column}{condition}"

    @abstractmethod
    def parse_condition(self, metric_condition: str) -> tuple[str | None, int] | None:
        """(test set or None, condition) of a metric condition this task writes; None if it is not one."""

    @abstractmethod
    def condition_label(self, metric_condition: str, set_labels: dict[str, str]) -> str:
        """A table header for one metric condition: 'σ=30', 'Set5 ×4'."""

    @abstractmethod
    def data_overrides(self, root: str, test_root: str | None) -> dict[str, object]:
        """Config overrides for ``--data ROOT`` (and ``--test-data``): the kind of data set this task reads there."""

    def bind(self, section: TaskConfig) -> "BoundTask":
        return BoundTask(self, section)


@dataclass(frozen=True)
class BoundTask:
    """A task with its config section, so that the two cannot travel apart: ``task.io(condition)`` for
    ``Task.io(section, condition)``. What needs no section (metric names, labels) is the task's own."""

    impl: Task
    section: TaskConfig

    @property
    def name(self) -> str:
        return self.impl.name

    @property
    def condition_column(self) -> str:
        return self.impl.condition_column

    def search_io(self) -> NetworkIO:
        return self.impl.search_io(self.section)

    def conditions(self) -> tuple[int, ...]:
        return self.impl.conditions(self.section)

    def io(self, condition: int) -> NetworkIO:
        return self.impl.io(self.section, condition)

    def scales(self) -> tuple[int, ...]:
        return self.impl.scales(self.section)

    def references(self) -> tuple[Reference, ...]:
        return self.impl.references(self.section)

    def complexity_input(self, condition: int) -> tuple[int, int]:
        return self.impl.complexity_input(self.section, condition)

    def with_inputs(self, images: ImageSet, split: str) -> ImageSet:
        return self.impl.with_inputs(self.section, images, split)

    def test_sources(self, data) -> dict[str, str | None] | None:
        return self.impl.test_sources(self.section, data)

    def sampler(self, images: ImageSet, crop_size: int, batch_size: int, seed: int, stream: str,
                condition: int | None = None) -> PatchSampler:
        return self.impl.sampler(self.section, images, crop_size, batch_size, seed, stream, condition)

    def val_pairs(self, images: ImageSet, seed: int) -> list[Pair]:
        return self.impl.val_pairs(self.section, images, seed)

    def test_pairs(self, images: ImageSet, condition: int, seed: int) -> list[Pair]:
        return self.impl.test_pairs(self.section, images, condition, seed)

    def protocol(self, condition: int | None = None) -> Protocol:
        return self.impl.protocol(self.section, condition)

    def protocol_notes(self) -> tuple[str, ...]:
        return self.impl.protocol_notes(self.section)

    def metric_condition(self, test_set: str, condition: int) -> str:
        return self.impl.metric_condition(test_set, condition)

    def condition_key(self, condition: int) -> str:
        return self.impl.condition_key(condition)


TASKS: Registry[Task] = Registry("task", instantiate=True)
