"""The commands that read an ablation's results back from MLflow: `table` and `report` (one invocation's runs,
the latest unless --invocation names one), and the layout lookup they share with the run commands."""

import argparse
import os
import re
import sys
from pathlib import Path

from orchestrator import invocation
from orchestrator import tracking as tr
from orchestrator.experiments import ablation_names, find_ablation
from orchestrator.shell import orchestrator
from trials import metric_names as M
from trials.tasks import TASKS

RUNS = Path("runs")


def mlflow_experiment(ablation: str, task: str) -> str:
    return f"{find_ablation(ablation).name}-{ablation}-{task}"


def layout(ablation: str, task: str):
    return find_ablation(ablation).layout(ablation, task)



def cmd_table(args: argparse.Namespace) -> int:
    from analysis.api import table_text  # deferred

    table_layout = layout(args.ablation, args.task)  # an unknown ablation fails before the store is opened
    if args.list_invocations:
        return print_invocations(args)
    runs, _, settings, expected = load_for(args)
    fmt = "tex" if args.format == "latex" else args.format
    table_layout = table_layout.with_extras(M.COST) if args.cost else table_layout
    print(table_text(runs, table_layout.only(settings), fmt, compare_paper=args.compare == "paper",
                     expected_seeds=expected))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.api import build_report  # deferred
    from analysis.load import best_seed_genotypes, load_curves  # deferred

    table_layout = layout(args.ablation, args.task)
    if args.list_invocations:
        return print_invocations(args)
    runs, parent, settings, expected = load_for(args)
    table_layout = (table_layout.with_extras(M.COST) if args.cost else table_layout).only(settings)
    uri = args.tracking_uri or default_uri()
    path = build_report(runs, table_layout, args.out, curves=load_curves(uri, runs),
                        genotypes=best_seed_genotypes(uri, runs, table_layout), expected_seeds=expected,
                        provenance=invocation.provenance(uri, parent))
    print(f"report: {path}\n        {path.with_suffix('.html')}")
    return 0


def default_uri() -> str:
    """The default store, without creating a folder for it (``table`` on a fresh folder creates nothing)."""
    return tr.default_uri(RUNS, create=False)


def cache_folder(uri: str) -> Path:
    """Where `table`/`report` cache a store's runs: beside a SQLite store, else in the user's cache folder
    (never ./runs of whatever folder the command runs in)."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).parent / "cache"
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", uri)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hinas-orchestrator" / "runs" / safe


def load_for(args: argparse.Namespace):
    """The runs of one invocation (parent run) of the ablation (``--invocation ID``, else the latest), its id,
    the settings it ran and the seeds a complete row has; an ablation run twice (a smoke run, then a paper
    run) never mixes in one table."""
    from analysis.load import load_runs  # deferred

    uri = args.tracking_uri or default_uri()
    tr.check_reachable(uri, create=False)
    parents = invocation.invocations(uri, mlflow_experiment(args.ablation, args.task))
    if not parents:
        raise ValueError(f"no runs of ablation {args.ablation} ({args.task}) in {uri}; run "
                         f"`{orchestrator()} ablation {args.ablation} --task {args.task}` first")
    chosen = pick_invocation(parents, args.invocation)
    runs = load_runs(uri, parent_run_id=chosen.info.run_id, cache_dir=cache_folder(uri))
    if runs.empty:
        raise ValueError(f"invocation {invocation.describe_invocation(chosen)} of ablation {args.ablation} has no "
                         f"trial runs yet; pick another with --invocation ID")
    older = len(parents) - 1
    print(f"invocation {invocation.describe_invocation(chosen)}"
          + (f"; {older} other(s): pass --invocation ID (`--list-invocations` lists them)" if older else ""),
          file=sys.stderr)
    params = chosen.data.params  # older invocations recorded neither settings nor seeds
    seeds = len(params["seeds"].split(",")) if params.get("seeds") else 3
    return (runs, chosen.info.run_id, params["settings"].split(",") if params.get("settings") else None,
            args.expected_seeds or seeds)


def print_invocations(args: argparse.Namespace) -> int:
    uri = args.tracking_uri or default_uri()
    tr.check_reachable(uri, create=False)
    for run in invocation.invocations(uri, mlflow_experiment(args.ablation, args.task)):
        print(invocation.describe_invocation(run), run.data.params.get(invocation.COMMAND, ""))
    return 0


def pick_invocation(parents: list, wanted: str | None):
    if wanted is None:
        return parents[0]
    for run in parents:
        if run.info.run_id.startswith(wanted):
            return run
    listing = "\n  ".join(invocation.describe_invocation(r) for r in parents)
    raise ValueError(f"no invocation {wanted!r} of this ablation; there are:\n  {listing}")


def register(sub: argparse._SubParsersAction) -> None:
    names = ablation_names()
    for name, func, helptext in (("table", cmd_table, "rebuild an ablation's mean ± std table from MLflow"),
                                 ("report", cmd_report, "tables and pictures of an ablation as one page")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("ablation", metavar="NAME", help=f"one of {', '.join(names)}")
        p.add_argument("--task", choices=TASKS.names(), default=None, help="default: the ablation's first task")
        p.add_argument("--tracking-uri")
        p.add_argument("--expected-seeds", type=int, default=None,
                       help="seeds a complete row has (rows with fewer get †); default: as many as the invocation ran")
        p.add_argument("--invocation", metavar="ID", help="the parent run (or a prefix of its id) to show; "
                       "default: the latest invocation of the ablation")
        p.add_argument("--list-invocations", action="store_true", help="list the ablation's invocations and exit")
        p.add_argument("--cost", action="store_true", help="add the search and retraining device-hours columns "
                       "(GPU-hours, or CPU-core-hours on a CPU)")
        if name == "table":
            p.add_argument("--format", choices=("md", "latex", "csv"), default="md")
            p.add_argument("--compare", choices=("paper",), help="set the paper's numbers beside ours")
        else:
            p.add_argument("--out", required=True, help="folder for report.md / report.html and pictures")
        p.set_defaults(func=func)
