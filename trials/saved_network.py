"""The retrained network as one self-describing file: genotype, task I/O, width and weights.

Loading needs only this file and ``torch.load(weights_only=True)`` (strings, numbers and tensors; no pickled
code): ``load_network`` rebuilds the derived network through the search-space registry.
"""

from dataclasses import asdict
from pathlib import Path

import torch

from search_space import SPACES, Genotype, NetworkIO, genotype_from_json
from trials.checkpoint import atomic_save

FORMAT = "restoration-network"
VERSION = 1


def network_file_name(condition_column: str, condition: int) -> str:
    return f"network_{condition_column}{condition}.pt"


def save_network(path: Path, net: torch.nn.Module, genotype: Genotype, io: NetworkIO, width: int, task: str,
                 condition: int) -> Path:
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "genotype": genotype.to_json(), "io": asdict(io),
               "width": width, "task": task, "condition": condition, "state_dict": state}
    return atomic_save(payload, path)


def load_network(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """(network in eval mode on ``device``, the file's description without the weights); an ONNX file that
    ``onnx_network.export`` wrote runs on the CPU through ONNX Runtime."""
    if Path(path).suffix.lower() == ".onnx":
        from trials.onnx_network import load_onnx  # deferred: onnx loads only for ONNX files

        return load_onnx(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path}: not a readable network file ({type(err).__name__}: {str(err)[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a saved network (no format {FORMAT!r}); give a network_*.pt of a run")
    if payload["version"] != VERSION:
        raise ValueError(f"{path}: network file version {payload['version']} is not supported ({VERSION})")
    genotype = genotype_from_json(payload["genotype"])
    io = NetworkIO(**payload["io"])
    net = SPACES.get(genotype.space).network(genotype, io, payload["width"])
    net.load_state_dict(payload.pop("state_dict"))
    return net.to(device).eval(), {**payload, "genotype": genotype, "io": io}
