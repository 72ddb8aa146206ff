"""Presets: named override sets on top of every section's defaults (the paper's settings), written per search
space in that system's experiments module (orchestrator/experiments/<system>.py).

A trial's config is built in one order everywhere: the components' defaults, the preset for (task, space,
method), then the given overrides (data folders, ``--set``, an ablation setting) on top.
"""

from orchestrator.experiments import Setting, experiments_for_space
from search_space import SPACES
from trials.config import TrialConfig, default_sections, with_overrides
from trials.tasks import TASKS

SMOKE = "smoke"  # the preset every experiment has: minutes on the built-in images


def preset_config(name: str, task: str | None = None, overrides: dict | None = None) -> TrialConfig:
    """``overrides`` may name the space and method (``space.name``, ``method.name``); the preset is the one
    written for that combination, so a method's preset keys apply only to trials of that method."""
    overrides = dict(overrides or {})
    task = task or TASKS.default
    space = str(overrides.get("space.name", SPACES.default))
    experiments = experiments_for_space(space)
    method = str(overrides.setdefault("method.name", experiments.method))
    presets = experiments.presets
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(presets)}")
    base = default_sections(task=task, space=space, method=method)  # unknown names fail here, listing valid ones
    deploy = {} if name == SMOKE else {"eval.export_onnx": True}  # seconds against hours; smoke keeps CI short
    return with_overrides(base, {**deploy, **presets[name](task, space, method), **overrides})


def trial_config(base: dict, setting: Setting, seed: int, extra: dict | None = None) -> TrialConfig:
    """One ablation trial's config: ``base`` is the plan's {"preset", "task", "overrides"} (the command line);
    the setting's overrides and ``extra`` (e.g. a searcher's lambda) come on top."""
    overrides = {**base["overrides"], **setting.overrides, **(extra or {}), "seed": seed}
    return preset_config(base["preset"], base["task"], overrides)
