"""What one paper's (or comparison's) experiments are: its presets, its ablations and their table layouts.

Each system registers one ``Experiments`` object (``orchestrator/experiments/<name>.py``); the CLI, the Ray
wiring and the analysis calls look ablations, presets and layouts up here and hold none themselves.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analysis.tables import TableLayout
from search_space.registry import Registry
from trials.data import set_labels
from trials.tasks import TASKS

Overrides = dict[str, object]  # dotted config keys -> values
BENCH_DATA_VARIABLE = "NAS_BENCH_DATA"  # where the benchmark images are (denoise/, color/, sr/benchmark/)
# Where the benchmark images are when the variable is not set: the workspace's shared data beside the checkout.
BENCH_DATA_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "data"


def bench_data(*parts: str) -> str:
    """A folder of the benchmark images (``$NAS_BENCH_DATA``, else ../shared/data beside the checkout), for
    the presets that train and test on real data; a clear error where it is missing."""
    root = Path(os.environ.get(BENCH_DATA_VARIABLE) or BENCH_DATA_DEFAULT).expanduser().resolve()
    folder = root.joinpath(*parts)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not found; the bench preset reads the benchmark images (DnCNN's Train400, "
                         f"BSD68, Set12, CBSD68, and Set5/Set14 in benchmark/<Set>/HR) from {root}; set "
                         f"{BENCH_DATA_VARIABLE} to the folder holding denoise/, color/ and sr/")
    return str(folder)


@dataclass(frozen=True)
class Setting:
    """One row of an ablation: config overrides on top of the preset (``method.name`` picks the method)."""

    name: str
    overrides: Overrides = field(default_factory=dict)

    @property
    def method(self) -> str | None:
        return self.overrides.get("method.name")


TUNED_PARAM = "tuned"  # Tune's parameter that holds a searcher's choice of the ablation's tuned key


@dataclass(frozen=True)
class Tuned:
    """A config key a searcher (``--search optuna``) may choose instead of the grid's values: its range, and
    how a chosen value names its row (the grid's rows are named the same way)."""

    key: str  # a dotted config key, e.g. loss.lam
    low: float
    high: float
    setting_name: Callable[[float], str]


@dataclass(frozen=True)
class Ablation:
    name: str
    description: str
    tasks: tuple[str, ...]  # tasks it runs on (the first is the default)
    settings: tuple[Setting, ...]
    seeds: tuple[int, ...] = (0, 1, 2)  # the papers report mean ± std over three seeds
    tuned: Tuned | None = None  # what --search optuna chooses; None: the ablation is a grid only

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise ValueError(f"ablation {self.name} has no setting {name!r}; valid: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [s.name for s in self.settings]


# A preset: (task, space, method) -> overrides for that combination (method keys only for its own method).
Preset = Callable[[str, str, str], Overrides]


@dataclass(frozen=True)
class Experiments:
    name: str  # the system; MLflow experiments are named "<name>-<ablation>-<task>"
    space: str  # the search space its presets are written for
    method: str  # the method a trial of that space runs when none is named
    presets: Mapping[str, Preset]
    # ablation name -> builder (task, options such as lambdas) -> Ablation
    ablations: Mapping[str, Callable[..., Ablation]]
    layout: Callable[[str, str], TableLayout]  # (ablation, task) -> its table (paper numbers named in it)
    study_methods: tuple[str, ...] = ()  # the methods it brings to a study on its space (default: ``method``)

    def __post_init__(self) -> None:
        if not self.study_methods and self.method:
            object.__setattr__(self, "study_methods", (self.method,))


EXPERIMENTS: Registry[Experiments] = Registry("experiment set")


def find_ablation(name: str) -> Experiments:
    """The experiment set that holds ablation ``name``."""
    holders = EXPERIMENTS.filter(lambda e: name in e.ablations)
    if holders:
        return EXPERIMENTS.get(holders[0])
    raise ValueError(f"unknown ablation {name!r}; valid: {', '.join(ablation_names())}")


def ablation_names() -> tuple[str, ...]:
    return tuple(name for _, e in EXPERIMENTS.items() for name in e.ablations)


def experiments_for_space(space: str) -> Experiments:
    """The experiment set whose presets are written for search space ``space``."""
    holders = EXPERIMENTS.filter(lambda e: e.space == space)
    if holders:
        return EXPERIMENTS.get(holders[0])
    raise ValueError(f"no presets are defined for search space {space!r}")


def task_layout(task: str, **fields) -> TableLayout:
    """A table layout whose conditions are read and labelled by ``task`` (see analysis.tables)."""
    found = TASKS.get(task)
    return TableLayout(task=task, parse_condition=found.parse_condition,
                       label_condition=lambda c: found.condition_label(c, set_labels()), **fields)
