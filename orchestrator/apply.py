"""`apply`: a found, retrained network on a user's own image.

The network comes from a trial's MLflow run (its ``networks/`` artifacts), a run folder or one
``network_*.pt`` file; it is read with ``weights_only=True`` and run with the evaluation's whole-image
(optionally tiled) inference, on the CPU or a GPU.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from orchestrator import tracking as tr
from trials import metric_names as M
from trials.data import read_image
from trials.metrics import run_on_image
from trials.pipeline import pick_device
from trials.saved_network import load_network
from trials.tasks import TASKS


def condition_flags() -> tuple[str, ...]:
    """One flag per kind of condition the tasks have (--sigma, --scale, ...)."""
    return tuple(dict.fromkeys(task.condition_column for _, task in TASKS.items() if not task.single_condition))


def wanted_conditions(args: argparse.Namespace) -> dict[str, int]:
    """The condition flags the command line gives (--sigma 50 -> {"sigma": 50})."""
    return {flag: getattr(args, flag) for flag in condition_flags() if getattr(args, flag) is not None}


def choose(files: list[Path], wanted: dict[str, int], where: str) -> Path:
    """The network file for the asked condition; the only one when none is asked."""
    if not files:
        raise ValueError(f"{where} holds no retrained network (network_*.pt); has its trial finished?")
    asked = [f"network_{flag}{value}.pt" for flag, value in wanted.items()]
    matches = [f for f in files if f.name in asked]
    if matches:
        return matches[0]
    if not wanted and len(files) == 1:
        return files[0]
    have = ", ".join(f.stem.removeprefix("network_") for f in files)
    ask = " or ".join(f"--{flag} N" for flag in condition_flags())
    raise ValueError(f"{where} has networks for {have}; choose one with {ask}")


AUTO_TILE_PIXELS = 4_000_000  # above this many input pixels (e.g. 2000x2000), apply runs in tiles by itself
AUTO_TILE = 512  # the tile side it then takes: memory stays that of a 512x512 image, whatever the image's size


def auto_tile(image: np.ndarray) -> int | None:
    """A tile size for an image too large to run whole without a memory bound (a 6000x6000 image took 17 GB
    whole); None for the others, which run whole."""
    if image.shape[0] * image.shape[1] <= AUTO_TILE_PIXELS:
        return None
    print(f"{image.shape[1]}x{image.shape[0]} is more than {AUTO_TILE_PIXELS / 1e6:g} M pixels: run in {AUTO_TILE} px "
          f"tiles (--tile N chooses another size)", file=sys.stderr)
    return AUTO_TILE


def check_condition(info: dict, wanted: dict[str, int], source: str) -> None:
    """A --sigma/--scale the network was not retrained for is an error, not silently ignored."""
    column = TASKS.get(info["task"]).condition_column
    for flag, value in wanted.items():
        if flag != column:
            raise ValueError(f"{source} is a {info['task']} network, which has no --{flag}; leave it out"
                             + (f" (it was retrained for {column} {info['condition']})" if column else ""))
        if value != info["condition"]:
            raise ValueError(f"{source} was retrained for {column} {info['condition']}, not {value}; give the "
                             f"network for {column} {value} (a run id or run folder picks it by --{flag})")


def network_file(source: str, wanted: dict[str, int], tracking_uri: str | None, scratch: Path,
                 setting: str | None = None) -> Path:
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        return choose(sorted(path.glob("network_*.pt")), wanted, str(path))
    uri = tracking_uri or tr.default_uri(Path("runs"), create=False)
    tr.check_reachable(uri, create=False)
    run_id = trial_of(uri, source, wanted, setting)
    chosen = choose(tr.run_networks(uri, run_id), wanted, f"MLflow run {run_id}")
    return tr.download(uri, run_id, chosen, scratch)


def trial_of(uri: str, run_id: str, wanted: dict[str, int], setting: str | None) -> str:
    """``run_id`` itself, or for an ablation's parent run (the id its console prints) the best trial of
    ``setting`` by mean test PSNR at the asked condition; without ``setting``, what there is to choose from."""
    trials = tr.invocation_trials(uri, run_id)
    if not trials:
        return run_id
    by_setting: dict[str, list] = {}
    for trial in trials:
        by_setting.setdefault(trial.data.tags[M.TAG_SETTING], []).append(trial)
    if setting not in by_setting:
        best_psnr = {name: max(test_psnr(r, wanted) for r in runs) for name, runs in by_setting.items()}
        listed = "; ".join(f"{name} ({len(runs)} trial(s), best {best_psnr[name]:.2f} dB)"
                           for name, runs in sorted(by_setting.items()))
        what = f"has no finished trial of setting {setting!r}" if setting else "is an ablation's parent run"
        raise ValueError(f"MLflow run {run_id} {what}; its settings: {listed}. Choose one with --setting NAME (its "
                         f"best trial by mean test PSNR is taken), or pass a trial's run id (child runs of "
                         f"{run_id} in the MLflow UI)")
    best = max(by_setting[setting], key=lambda r: test_psnr(r, wanted))
    print(f"{setting}: trial {best.info.run_id} (seed {best.data.tags.get(M.TAG_SEED, '?')}, mean test PSNR "
          f"{test_psnr(best, wanted):.2f} dB), the best of {len(by_setting[setting])}", file=sys.stderr)
    return best.info.run_id


def test_psnr(run, wanted: dict[str, int]) -> float:
    """A trial's mean test PSNR over its test sets, at the asked condition (every condition when none is)."""
    task = TASKS.get(run.data.tags[M.TAG_TASK])
    values = [value for key, value in run.data.metrics.items() if key.startswith(M.psnr(""))
              and (parsed := task.parse_condition(key.removeprefix(M.psnr(""))))
              and (not wanted or parsed[1] in wanted.values())]
    return float(np.mean(values)) if values else float("-inf")


def write_image(image: np.ndarray, path: Path) -> None:
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(path)


def cmd_apply(args: argparse.Namespace) -> int:
    wanted = wanted_conditions(args)
    device = pick_device(args.device)
    image_path = Path(args.image)
    if not image_path.is_file():
        raise ValueError(f"{image_path}: no such image")
    with tempfile.TemporaryDirectory() as scratch:
        net, info = load_network(network_file(args.source, wanted, args.tracking_uri, Path(scratch), args.setting),
                                 device)
    check_condition(info, wanted, args.source)
    io = info["io"]
    image = read_image(image_path, color=io.in_channels == 3)
    tile = args.tile or auto_tile(image)
    start = time.perf_counter()
    with torch.no_grad():
        output = run_on_image(net, image, scale=io.scale, tile=tile)
    seconds = time.perf_counter() - start
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_image(output, out)
    print(f"{out}: {info['task']} network ({TASKS.get(info['task']).condition_column} {info['condition']}, "
          f"{info['genotype'].space} space), {image.shape[1]}x{image.shape[0]} -> {output.shape[1]}x{output.shape[0]}"
          f" in {seconds:.1f} s{f', tiles of {tile} px' if tile else ''}; peak memory of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apply", help="restore your own image with a found, retrained network")
    p.add_argument("source", help="MLflow run id of a trial (or of an ablation: with --setting), a run folder, or a "
                   "network_*.pt file")
    p.add_argument("--setting", help="with an ablation's run id: the setting whose best trial (mean test PSNR) "
                   "to take")
    p.add_argument("image", help="the degraded image (noisy, low-resolution, ...)")
    p.add_argument("-o", "--output", required=True, help="where to write the restored image (PNG, ...)")
    for flag in condition_flags():
        p.add_argument(f"--{flag}", type=int, help=f"the network retrained for this {flag}")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--tile", type=int, help="run in overlapping tiles of this size (bounds memory)")
    p.add_argument("--tracking-uri", help="MLflow store holding the run (default: runs/mlflow.db)")
    p.set_defaults(func=cmd_apply)
