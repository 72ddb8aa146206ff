"""Command line: `python -m orchestrator COMMAND ...`: NAS for image restoration with Ray Tune and MLflow.

Every argument is checked, and the trial config built, before anything expensive starts. One module per
command family: ``commands`` (ablation, study: trials on Ray), ``results`` (table, report), ``cache``,
``apply``, ``export``, ``evaluate``, ``imports``; the small inspection commands are here.
"""

import argparse
import sys
from pathlib import Path

from orchestrator import apply, cache, commands, evaluate, export, imports, results
from orchestrator.arguments import (
    add_component_arguments,
    add_config_arguments,
    build_config,
    default_task,
    parse_overrides,
)
from orchestrator.presets import preset_config
from trials.config import flatten
from trials.data import DATA_KINDS, SEARCH, check_folder
from trials.pipeline import run_trial
from trials.tasks import TASKS
from trials.workload import largest_crop, search_split


def cmd_space(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    io = cfg.components.task.search_io()
    print(cfg.components.space.describe(cfg.space, io, cfg.retrain.base_width, samples=args.samples))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    for key, value in flatten(build_config(args)).items():
        print(f"{key} = {value}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    """What the folder holds; with ``--preset``, also what that preset's trials need of it (every search image
    at least the largest crop, enough images for ``data.split``), as the ablation's driver checks it."""
    if args.preset is None:
        print(check_folder(args.path, args.kind))
        return 0
    root = str(Path(args.path).expanduser().resolve())
    cfg = preset_config(args.preset, args.task, {"data.kind": args.kind, "data.root": root,
                                                  **parse_overrides(args.overrides)})
    task, crop = cfg.components.task, largest_crop(cfg)
    print(check_folder(root, args.kind, scales=task.scales(), modcrop=cfg.data.modcrop, options=cfg.data.options,
                       min_size=crop))
    split = search_split(cfg, DATA_KINDS.get(args.kind).count(root, SEARCH))
    print(f"preset {args.preset}, task {cfg.task.name}: every search image at least {crop} px a side (the largest "
          f"crop); data.split={cfg.data.split} takes {len(split.train_w)} images to train the weights, "
          f"{len(split.train_a)} the architecture, {len(split.val)} to validate")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    cfg = build_config(args, {"seed": args.seed})
    out = Path(args.out or f"runs/search-{cfg.space.name}-{cfg.method.name}-seed{cfg.seed}").resolve()
    metrics = run_trial(cfg, out)
    print(f"genotype: {out / 'genotype.json'}\nmetrics:  {out / 'metrics.json'}")
    for key, value in sorted(metrics.items()):
        print(f"  {key:28s} {value:.4f}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("space", help="describe a search space (parameters, architecture weights, size)")
    add_config_arguments(p)
    add_component_arguments(p)
    p.add_argument("--samples", type=int, default=200, help="random genotypes for the derived-net statistics")
    p.set_defaults(func=cmd_space, preset="paper")

    p = sub.add_parser("config", help="print every config key with its value for a preset")
    add_config_arguments(p)
    add_component_arguments(p)
    p.set_defaults(func=cmd_config)

    add_data_commands(sub)

    p = sub.add_parser("search", help="one full trial (search, retrain, evaluate) without Ray, for debugging")
    add_config_arguments(p)
    add_component_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="run folder (default runs/search-<space>-<method>-seed<N>); resumes if it exists")
    p.set_defaults(func=cmd_search)

    apply.register(sub)
    export.register(sub)
    evaluate.register(sub)
    imports.register(sub)
    commands.register(sub)
    results.register(sub)
    cache.register(sub)
    return parser


def add_data_commands(sub) -> None:
    p = sub.add_parser("data", help="data set tools")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="is a folder a usable data set?")
    check.add_argument("path")
    check.add_argument("--kind", required=True, choices=DATA_KINDS.names())
    check.add_argument("--preset", default=None, help="also check what this preset's trials need of the folder "
                       "(crop sizes, the search split)")
    check.add_argument("--task", choices=TASKS.names(), default=None, help=f"with --preset; default {TASKS.default}")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="with --preset: any config key, e.g. --set search.crop_size=64")
    check.set_defaults(func=cmd_data_check)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what was typed: a resume compares it
    try:
        default_task(args)
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:  # bad input: one clear line, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resumable = "; finished trials are kept, rerun with --resume to continue" if args.command == "ablation" else ""
        terminated = commands.TERMINATED.is_set()  # SIGTERM outside Tune's run: see commands.stop_on_sigterm
        print(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}{resumable}", file=sys.stderr)
        return 143 if terminated else 130
