"""Command line: `python -m orchestrator {space,config,data,search,ablation,table,report}`.

Every argument is checked, and the trial config built, before anything expensive starts.
"""

import argparse
import sys
from pathlib import Path

from trials.config import TrialConfig, flatten, with_overrides


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=("denoise", "sr"), default="denoise")
    parser.add_argument("--scale", type=int, choices=(2, 3, 4), default=4, help="SR scale (default 4)")
    parser.add_argument("--preset", default="smoke", help="smoke (built-in data, minutes) or paper")
    parser.add_argument("--data", metavar="DIR", help="data folder (BSD500 for denoise, DIV2K for sr); "
                        "default: the built-in images")
    parser.add_argument("--test-data", metavar="DIR", help="SR: folder holding Set5/, Set14/, BSD100/, ...")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set search.epochs=50 (repeatable); "
                        "`python -m orchestrator config` lists the keys")


def parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def data_overrides(args: argparse.Namespace) -> dict[str, object]:
    if not args.data:
        return {}
    root = Path(args.data).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(f"--data {args.data}: no such folder; give the folder of the data set "
                         f"(BSD500 for denoising, DIV2K for SR), or leave --data out for the built-in images")
    out: dict[str, object] = {"data.kind": "bsd500" if args.task == "denoise" else "div2k", "data.root": str(root)}
    if args.task == "sr":
        out |= {"data.test_sets": "set5,set14,bsd100,urban100", "data.test_root": args.test_data or str(root)}
    return out


def build_config(args: argparse.Namespace, extra: dict[str, object] | None = None) -> TrialConfig:
    from orchestrator.presets import preset_config

    cfg = preset_config(args.preset, args.task, args.scale)
    return with_overrides(cfg, {**data_overrides(args), **(extra or {}), **parse_overrides(args.overrides)})


# --- commands -----------------------------------------------------------------------------------------
def cmd_space(args: argparse.Namespace) -> int:
    from orchestrator.describe import describe_space

    cfg = build_config(args)
    print(describe_space(cfg.space, cfg.retrain_width(), samples=args.samples))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    for key, value in flatten(cfg).items():
        print(f"{key} = {value}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from trials.data import check_folder

    print(check_folder(args.path, args.kind))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from trials.pipeline import run_trial

    extra: dict[str, object] = {"seed": args.seed, "search.method": args.method}
    if args.lwas is not None:
        extra["space.lwas"] = args.lwas
    if args.resl is not None:
        extra["space.residual"] = args.resl
    if args.lam is not None:
        extra["search.lam"] = args.lam
    cfg = build_config(args, extra)
    out = Path(args.out or f"runs/search-{cfg.search.method}-seed{cfg.seed}").resolve()
    metrics = run_trial(cfg, out)
    print(f"genotype: {out / 'genotype.json'}\nmetrics:  {out / 'metrics.json'}")
    for key, value in sorted(metrics.items()):
        print(f"  {key:28s} {value:.4f}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("space", help="describe a search space (parameters, alpha/beta shapes, size)")
    add_config_arguments(p)
    p.add_argument("--samples", type=int, default=200, help="random genotypes for the derived-net statistics")
    p.set_defaults(func=cmd_space, preset="paper")

    p = sub.add_parser("config", help="print every config key with its value for a preset")
    add_config_arguments(p)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("data", help="data set tools")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="is a folder a usable data set?")
    check.add_argument("path")
    from trials.data import DATASET_KINDS

    check.add_argument("--kind", required=True, choices=DATASET_KINDS)
    check.set_defaults(func=cmd_data_check)

    p = sub.add_parser("search", help="one full trial (search, retrain, evaluate) without Ray, for debugging")
    add_config_arguments(p)
    p.add_argument("--method", choices=("hinas", "rsws"), default="hinas")
    p.add_argument("--lwas", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--resl", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lam", type=float, default=None)
    p.add_argument("--out", help="run folder (default runs/search-<method>-seed<N>); resumes if it exists")
    p.set_defaults(func=cmd_search)

    from orchestrator import commands

    commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:  # bad input: one clear line, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished trials are kept, rerun with --resume to continue", file=sys.stderr)
        return 130
