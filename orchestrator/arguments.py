"""Arguments shared by the commands, and the trial config built from them (checked before anything starts)."""

import argparse
from pathlib import Path

from orchestrator.experiments import experiments_for_space, find_ablation
from orchestrator.presets import preset_config
from search_space import SPACES
from trials.config import TrialConfig
from trials.methods import METHODS
from trials.tasks import TASKS


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=TASKS.names(), default=None,
                        help=f"default: the ablation's first task, else {TASKS.default}")
    parser.add_argument("--preset", default="smoke", help="smoke (built-in data, minutes) or paper")
    parser.add_argument("--data", metavar="DIR", help="data folder (BSD500 for denoising, DIV2K for SR); "
                        "default: the built-in images")
    parser.add_argument("--test-data", metavar="DIR", help="folder holding the test sets (Set5/, Set14/, ...)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set search.epochs=50 (repeatable); "
                        "`python -m orchestrator config` lists the keys")


def add_component_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", choices=SPACES.names(), default=None, help=f"default {SPACES.default}")
    own = ", ".join(f"{space}: {experiments_for_space(space).method}" for space in SPACES.names())
    parser.add_argument("--method", choices=METHODS.names(), default=None,
                        help=f"default: the space's own method ({own})")


def parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    if "seed" in out:
        raise ValueError(f"--set seed={out['seed']}: the seed is not a config key to set; choose it with --seed N "
                         f"(search) or --seeds 0,1,2 (ablation)")
    return out


def data_overrides(args: argparse.Namespace) -> dict[str, object]:
    if not args.data:
        return {}
    root = Path(args.data).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(f"--data {args.data}: no such folder; give the folder of the data set, or leave --data "
                         f"out for the built-in images")
    test_root = Path(args.test_data).expanduser().resolve() if args.test_data else None
    return TASKS.get(args.task).data_overrides(str(root), str(test_root) if test_root else None)


def component_overrides(args: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {}
    for section in ("space", "method"):
        if getattr(args, section, None):
            out[f"{section}.name"] = getattr(args, section)
    return out


def user_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Everything the command line sets, in order: components, data folders, then ``--set``."""
    return {**component_overrides(args), **data_overrides(args), **parse_overrides(args.overrides)}


def build_config(args: argparse.Namespace, extra: dict[str, object] | None = None) -> TrialConfig:
    overrides = {**user_overrides(args), **(extra or {})}
    return preset_config(args.preset, args.task, overrides)


def default_task(args: argparse.Namespace) -> None:
    """``--task`` when not given: the named ablation's first task (autoderain: derain), else the default task."""
    if getattr(args, "task", "") is not None or getattr(args, "task_required", False):
        return
    args.task = TASKS.default
    if getattr(args, "ablation", None):
        args.task = find_ablation(args.ablation).ablations[args.ablation](None).tasks[0]
