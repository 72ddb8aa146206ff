"""`export`: a saved network (trial run id, ablation run id with --setting, run folder, network file, or one
made by `import`) as an ONNX file with dynamic height and width, checked by ONNX Runtime against torch."""

import argparse
import tempfile
import time
from pathlib import Path

from orchestrator.apply import check_condition, condition_flags, network_file, wanted_conditions
from trials.onnx_network import CHECK_SIZES, TOLERANCE, export
from trials.saved_network import load_network


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"-o {args.output}: the file name must end in .onnx")
    wanted = wanted_conditions(args)
    with tempfile.TemporaryDirectory() as scratch:
        net, info = load_network(network_file(args.network, wanted, args.tracking_uri, Path(scratch), args.setting))
    check_condition(info, wanted, args.network)
    start = time.perf_counter()
    difference = export(net, info, out)
    sizes = " and ".join(f"{h}x{w}" for h, w in CHECK_SIZES)
    print(f"{out}: {info['task']} network ({info['genotype'].space} space, condition {info['condition']}), "
          f"dynamic height and width, exported in {time.perf_counter() - start:.1f} s; ONNX Runtime against "
          f"torch on {sizes} inputs: max |diff| {difference:.2g} (limit {TOLERANCE:g})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="a saved network as ONNX, checked by ONNX Runtime against torch")
    p.add_argument("network", help="MLflow run id of a trial (or of an ablation, with --setting), a run folder, "
                   "a network_*.pt, or a network made by `import`")
    p.add_argument("-o", "--output", required=True, help="the ONNX file to write (NAME.onnx)")
    p.add_argument("--setting", help="with an ablation's run id: the setting whose best trial to export")
    for flag in condition_flags():
        p.add_argument(f"--{flag}", type=int, help=f"the network retrained for this {flag}")
    p.add_argument("--tracking-uri", help="MLflow store holding the run (default: runs/mlflow.db)")
    p.set_defaults(func=cmd_export)
