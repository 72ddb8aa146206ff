"""`evaluate`: score any network, or a reference (bicubic, the noisy input, ...), on standard test sets under
the published protocol, outside a trial.

The network is a trial's MLflow run id, its run folder, a saved network file (also one made by `import`), or the
name of one of the task's reference rows. Test sets are data-set kinds found in ``--test-data`` (Set5/, BSD68/,
...); the scoring is a trial's (``trials.retrain``), so the numbers are those a trial of that config would log.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from orchestrator import tracking as tr
from orchestrator.apply import condition_flags, network_file, wanted_conditions
from orchestrator.arguments import parse_overrides
from trials import metric_names as M
from trials.complexity import latency_ms
from trials.config import TrialConfig, default_config, flatten, with_overrides
from trials.data import DATA_KINDS
from trials.pipeline import pick_device
from trials.retrain import network_scores, protocol_summary, reference_scores
from trials.saved_network import load_network
from trials.tasks import TASKS
from trials.workload import load_tests

EXPERIMENT = "evaluations"  # the MLflow experiment of `evaluate` runs


def test_set_kinds(names: str) -> tuple[str, ...]:
    """'Set5,Set14' -> ('set5', 'set14'): kinds that serve as test sets, any case."""
    kinds = tuple(n.strip().lower() for n in names.split(",") if n.strip())
    serving = DATA_KINDS.filter(lambda kind: "test" in kind.splits)
    unknown = [k for k in kinds if k not in serving]
    if unknown or not kinds:
        valid = ", ".join(DATA_KINDS.get(k).label for k in serving)
        raise ValueError(f"--sets {names!r}: unknown test set(s) {', '.join(unknown) or '(none)'}; valid: {valid}")
    return kinds


def task_of(args: argparse.Namespace, info: dict | None) -> str:
    """The network's task, else --task, else the one task whose condition flag was given."""
    if info is not None:
        return info["task"]
    if args.reference_task:
        return args.reference_task
    flagged = [name for name, task in TASKS.items() if getattr(args, task.condition_column, None) is not None]
    if len(flagged) != 1:
        raise ValueError(f"{args.network}: a reference row needs its task: give --task or one of "
                         f"{', '.join('--' + f for f in condition_flags())}")
    return flagged[0]


def evaluation_config(args: argparse.Namespace, task_name: str, info: dict | None) -> TrialConfig:
    """A trial config of the task whose test data are ``--sets`` in ``--test-data`` at the asked condition."""
    task = TASKS.get(task_name)
    asked = getattr(args, task.condition_column, None) if not task.single_condition else None
    condition = info["condition"] if info is not None else asked
    if info is not None and asked is not None and asked != info["condition"]:
        raise ValueError(f"{args.network} was retrained for {task.condition_column} {info['condition']}, not "
                         f"{asked}; drop --{task.condition_column} or give the network for {asked}")
    test_root = str(Path(args.test_data).expanduser().resolve()) if args.test_data else None
    overrides: dict[str, object] = {"data.test_sets": ",".join(test_set_kinds(args.sets)), "data.test_root": test_root,
                                    "data.modcrop": True}  # HR cropped to a multiple of the scale (modcrop)
    overrides |= task.condition_overrides(condition) if condition is not None else {}
    if info is not None:
        overrides["task.color"] = info["io"].in_channels == 3
    return with_overrides(default_config(task_name), overrides | parse_overrides(args.overrides))


def scores(args: argparse.Namespace, cfg: TrialConfig, net) -> dict[str, dict[str, dict[str, float]]]:
    """{test set: {condition: {"psnr": .., "ssim": ..}}} of the network, or of the named reference row."""
    task = cfg.components.task
    tests = load_tests(cfg)
    out: dict[str, dict[str, dict[str, float]]] = {name: {} for name in tests}
    for condition in task.conditions():
        if net is not None:
            per_set = network_scores(net, cfg, tests, condition, tile=args.tile)
        else:
            per_set = reference_scores(cfg, reference(cfg, args.network), tests, condition)
        for name, (psnr, ssim) in per_set.items():
            out[name][task.condition_key(condition)] = {"psnr": psnr, "ssim": ssim}
    return out


def reference(cfg: TrialConfig, name: str):
    task = cfg.components.task
    found = {r.name: r for r in task.references()}
    if name not in found:
        raise ValueError(f"{name}: not a saved network, run folder or run id, nor a reference row of the "
                         f"{task.name} task ({', '.join(found)})")
    return found[name]


def tracking_uri(args: argparse.Namespace) -> str | None:
    """The store `evaluate` logs in, checked before any scoring (None with --no-log)."""
    if args.no_log:
        return None
    uri = args.tracking_uri or tr.default_uri(Path("runs"))
    tr.check_reachable(uri)
    return uri


def log_run(uri: str, cfg: TrialConfig, result: dict, label: str) -> str:
    """An MLflow run tagged as a reference row: the config as params, one metric per (set, condition)."""
    task = cfg.components.task
    metrics = {}
    for name, conditions in result.items():
        for condition in task.conditions():
            key = task.metric_condition(name, condition)
            values = conditions[task.condition_key(condition)]
            metrics |= {M.psnr(key): values["psnr"], M.ssim(key): values["ssim"]}
    tags = {M.TAG_REFERENCE: label, M.TAG_TASK: cfg.task.name, M.TAG_PROTOCOL: protocol_summary(cfg),
            **tr.source_tags()}
    return tr.log_evaluation(uri, EXPERIMENT, f"evaluate-{Path(label).stem}", tags, flatten(cfg), metrics)


def cmd_evaluate(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        net, info = _network(args, Path(scratch))
    cfg = evaluation_config(args, task_of(args, info), info)
    uri = tracking_uri(args)
    result = scores(args, cfg, net)
    run_id = None if uri is None else log_run(uri, cfg, result, args.network)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.network}: {cfg.task.name}, scored as {protocol_summary(cfg)}")
    for name, conditions in result.items():
        for condition, values in conditions.items():
            print(f"  {DATA_KINDS.get(name).label if name in DATA_KINDS else name:10s} {condition:10s} "
                  f"PSNR {values['psnr']:.2f} dB  SSIM {values['ssim']:.4f}")
    if net is not None:
        height, width = M.LATENCY_INPUT
        device = next(net.parameters()).device
        print(f"  latency {latency_ms(net, info['io'].in_channels):.1f} ms (median of {M.LATENCY_REPEATS} passes "
              f"of a {height}x{width} input on {device}, {torch.get_num_threads()} threads)")
    if run_id:
        print(f"MLflow run {run_id} (experiment {EXPERIMENT})", file=sys.stderr)
    return 0


def _network(args: argparse.Namespace, scratch: Path):
    """(network, its description) of a saved network, run folder or run id; (None, None) for a reference name."""
    path = Path(args.network).expanduser()
    if not path.exists() and "/" not in args.network and not _looks_like_run_id(args.network):
        return None, None
    wanted = wanted_conditions(args)
    return load_network(network_file(args.network, wanted, args.tracking_uri, scratch, args.setting),
                        pick_device(args.device))


def _looks_like_run_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a network or a reference row on standard test sets")
    p.add_argument("network", help="saved network (network_*.pt, or one made by `import`), run folder, MLflow run "
                   "id of a trial, or a reference row's name (bicubic, noisy, nlm, rainy)")
    p.add_argument("--setting", help="with an ablation's run id: the setting whose best trial (mean test PSNR) "
                   "to score")
    p.add_argument("--test-data", metavar="DIR", help="folder holding the test sets (Set5/, BSD68/...); not needed "
                   "for --sets builtin")
    p.add_argument("--sets", required=True, help="test sets, comma-separated: Set5,Set14 / BSD68,Set12 / ...")
    p.add_argument("--task", dest="reference_task", choices=TASKS.names(),
                   help="the task of a reference row (a network knows its own; --sigma / --scale imply it)")
    for flag in condition_flags():
        p.add_argument(f"--{flag}", type=int, help=f"the {flag} to score at (a network's own by default)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="protocol switches, e.g. --set eval.quantize=false --set eval.gray_images=rgb")
    p.add_argument("--json", action="store_true", help="print one JSON object {set: {condition: {psnr, ssim}}}")
    p.add_argument("--tile", type=int, help="run the network in overlapping tiles of this size")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--tracking-uri", help="MLflow store to log the evaluation in (default: runs/mlflow.db)")
    p.add_argument("--no-log", action="store_true", help="do not log an MLflow run")
    p.set_defaults(func=cmd_evaluate)
