"""What every search space provides, and the registry of spaces (filled in ``search_space/<name>/``).

A space has its own config section (a frozen dataclass whose ``name`` selects the space), a supernet, a
genotype (JSON naming its space, architecture only), the derived network built from a genotype, the
task's network I/O and a run-time width, and optionally a uniform sampler and single-path execution.
"""

import json
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from .registry import Registry

# What a search method may need from a space, beyond the supernet's forward and derivation:
SINGLE_PATH = "single_path"  # supernet.forward_path(x, genotype): one discrete architecture on shared weights
SAMPLER = "sampler"  # space.sample(cfg, rng): a uniform draw from the discrete space
PARAMETER_PENALTY = "parameter_penalty"  # supernet.parameter_penalty(): expected op cost under the relaxation
# supernet.relaxation = "discrete" (forward at prox(a), one path) | "softmax" (every op, mixed); project_() clips
# a to its box; forward_selected(x): the derived architecture's path; op_parameter_counts(): (blocks, ops) costs
RELAXATION = "relaxation"
# What retraining may use: network.skip_output_layer() is the layer whose output is added to the network's skip
# path (the input; bicubic for SR), None for a network without one (retrain.start_at_skip zeroes it)
SKIP_START = "skip_start"


@dataclass(frozen=True)
class NetworkIO:
    """A network's input and output as the task defines them: channels and the upscale factor."""

    in_channels: int
    out_channels: int
    scale: int = 1  # output size = scale x input size

    def __post_init__(self) -> None:
        if self.in_channels < 1 or self.out_channels < 1 or self.scale < 1:
            raise ValueError(f"network I/O needs positive channels and scale, got {self}")


@dataclass(frozen=True)
class SpaceConfig:
    """Base of every space's config section; ``name`` is the registry key of the space. ``size_limits``: the
    largest value of each structural count (layers, nodes, cells, ...) the space builds. Supernets are built
    module by module in Python, so a count far beyond a paper's takes hours before any step and more memory
    than a machine has; widths and batches are left to the memory estimate (``orchestrator/memory.py``)."""

    name: str
    size_limits: ClassVar[dict[str, int]] = {}


class Genotype(ABC):
    """Base of every space's genotype (a frozen dataclass): JSON that names its space."""

    space: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict: ...

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict) -> "Genotype": ...

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps({"space": self.space, **self.to_dict()}, indent=indent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")


class Supernet(nn.Module):
    """What the search loop and methods see of a supernet: two parameter groups, derivation, weights to plot."""

    def arch_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def derive(self) -> Genotype:
        """The discrete architecture the architecture parameters point to now."""
        raise NotImplementedError

    def arch_weights(self) -> dict[str, torch.Tensor]:
        """Named architecture weights as probabilities (for heat maps); detached, on the CPU."""
        raise NotImplementedError

    def arch_weight_metrics(self) -> dict[str, float]:
        """The architecture weights as flat, named numbers for a method to log per epoch (names chosen by the
        space, which knows its ops); default: none."""
        return {}

    def forward_path(self, x: torch.Tensor, genotype: Genotype) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no single-path forward")

    def parameter_penalty(self) -> torch.Tensor:
        """The relaxed architecture's expected op cost, differentiable in the architecture parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter penalty")


class SearchSpace(ABC):
    name: ClassVar[str]
    label: ClassVar[str] = ""  # how tables name it ('HiNAS'); empty: its name
    config_class: ClassVar[type[SpaceConfig]]
    genotype_class: ClassVar[type[Genotype]]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # Genotype files written before genotypes named their space are read as this space's (one space only).
    reads_unnamed_genotypes: ClassVar[bool] = False
    min_input_size: ClassVar[int] = 1  # smallest input side (px) its networks accept, e.g. DLSR's attention
    inferred_tag: ClassVar[str | None] = None  # its settings are our design, not a paper's: runs get this tag

    def check(self, cfg: SpaceConfig, io: NetworkIO) -> None:  # noqa: B027 - optional hook
        """Raises ValueError when the space cannot serve this task I/O (before anything is built)."""

    @abstractmethod
    def supernet(self, cfg: SpaceConfig, io: NetworkIO) -> Supernet: ...

    @abstractmethod
    def network(self, genotype: Genotype, io: NetworkIO, width: int) -> nn.Module:
        """The derived network of ``genotype`` at base width ``width`` for this I/O."""

    def sample(self, cfg: SpaceConfig, rng: random.Random) -> Genotype:
        raise NotImplementedError(f"search space {self.name} has no uniform sampler")

    def named_genotypes(self, cfg: SpaceConfig) -> dict[str, Genotype]:
        """Fixed architectures of this space by name (e.g. a hand-designed baseline); default: none."""
        return {}

    def import_published(self, checkpoint, genotype_json: dict | None = None
                         ) -> tuple[Genotype, NetworkIO, int, dict[str, torch.Tensor]]:
        """A published checkpoint of this space's authors as (genotype, I/O, width, state_dict in this space's
        names, every shape checked): the `import` command. ``genotype_json``: the checkpoint's architecture as
        a genotype file holds it (the space's importer may read more from it, e.g. the authors' order of
        concatenated inputs); None: the published architecture. Default: the space has no importer."""
        raise ValueError(f"search space {self.name} has no importer of published checkpoints; spaces that have "
                         f"one: {', '.join(SPACES.filter(has_importer)) or 'none'}")

    @abstractmethod
    def describe(self, cfg: SpaceConfig, io: NetworkIO, width: int, samples: int = 200) -> str:
        """What the space contains, in numbers a user can check."""


SPACES: Registry[SearchSpace] = Registry("search space", instantiate=True)


def has_importer(space: SearchSpace) -> bool:
    """Whether ``space`` imports its authors' published checkpoints (overrides ``import_published``)."""
    return type(space).import_published is not SearchSpace.import_published


def genotype_from_dict(data: dict) -> Genotype:
    """Any space's genotype from its JSON dict, dispatched on the ``space`` field it names."""
    data = dict(data)
    name = data.pop("space", None)
    if name is None:
        legacy = SPACES.filter(lambda s: s.reads_unnamed_genotypes)
        if not legacy:
            raise ValueError("genotype JSON names no space (field 'space')")
        name = legacy[0]
    return SPACES.get(name).genotype_class.from_dict(data)


def genotype_from_json(text: str) -> Genotype:
    return genotype_from_dict(json.loads(text))


def load_genotype(path: str | Path) -> Genotype:
    return genotype_from_json(Path(path).read_text())


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
