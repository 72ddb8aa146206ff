"""`import`: a published checkpoint of a space's authors (e.g. DLSR's) as this project's self-describing saved
network, so that `apply`, `evaluate` and ablations' reference rows use it like a network a trial retrained."""

import argparse
import json
from pathlib import Path

import torch

from search_space import SPACES, NetworkIO
from search_space.core import has_importer
from trials.config import default_config
from trials.saved_network import save_network
from trials.tasks import TASKS


def read_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path}: not a readable PyTorch checkpoint of tensors ({type(err).__name__}: "
                         f"{str(err)[:160]})") from None


def task_for(io: NetworkIO) -> tuple[str, int]:
    """(task, condition) whose network I/O is ``io`` (SR at condition = the scale): the only task that fits."""
    fits = []
    for name, task in TASKS.items():
        cfg = default_config(name).task
        candidates = task.conditions(cfg) if task.single_condition else (io.scale,)
        fits += [(name, c) for c in candidates if task.io(cfg, c) == io]
    if len(fits) != 1:
        raise ValueError(f"the checkpoint's network ({io.in_channels} -> {io.out_channels} channels, x{io.scale}) "
                         f"fits {len(fits)} tasks ({', '.join(n for n, _ in fits) or 'none'}); one is needed")
    return fits[0]


def cmd_import(args: argparse.Namespace) -> int:
    space = SPACES.get(args.space)
    genotype_json = _genotype_json(args.genotype) if args.genotype else None
    genotype, io, width, state = space.import_published(read_checkpoint(Path(args.checkpoint)), genotype_json)
    task, condition = task_for(io)
    net = space.network(genotype, io, width)
    net.load_state_dict(state, strict=True)
    out = save_network(Path(args.output), net, genotype, io, width, task, condition)
    params = sum(p.numel() for p in net.parameters())
    print(f"{out}: {space.name} network of {task} ({TASKS.get(task).condition_column} {condition}), width {width}, "
          f"{params:,} parameters, every tensor of {args.checkpoint} mapped")
    return 0


def _genotype_json(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"--genotype {path}: not a genotype file ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"--genotype {path}: not a genotype file (a JSON object)")
    return data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="a published checkpoint (e.g. the DLSR authors') as a saved network")
    importers = SPACES.filter(has_importer)
    p.add_argument("space", choices=SPACES.names(), help=f"the search space whose authors' checkpoint it is "
                   f"(with an importer: {', '.join(importers) or 'none'})")
    p.add_argument("checkpoint", help="the authors' checkpoint file (.pt)")
    p.add_argument("-o", "--output", required=True, help="the saved network to write (NETWORK.pt)")
    p.add_argument("--genotype", help="genotype.json of the checkpoint's architecture (default: the published one); "
                   "for DLSR, each fusion's inputs listed in the order the authors' model file concatenates them")
    p.set_defaults(func=cmd_import)
