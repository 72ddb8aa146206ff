"""A saved network as ONNX, and an ONNX file as a network.

``export`` writes the derived network with dynamic height and width (torch's dynamo exporter), puts the saved
network's description (task, condition, I/O, width, genotype) in the model's metadata, and checks the file with
ONNX Runtime against torch on two image sizes: a file off by more than ``TOLERANCE`` is not kept.
``OnnxNetwork`` runs such a file as a torch module, so ``apply`` and ``evaluate`` (tiling included) take it as
they take a ``network_*.pt``.
"""

import json
import logging
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from search_space import NetworkIO, genotype_from_json

METADATA_KEY = "restoration-network"  # the saved network's description, JSON
TOLERANCE = 1e-4  # max |onnx - torch| on [0, 1] outputs
CHECK_SIZES = ((64, 72), (61, 97))  # the second: odd sides and not the export's, so the dims are dynamic


class ExportError(ValueError):
    pass


def export(net: nn.Module, info: dict, path: str | Path) -> float:
    """Writes ``net`` (a loaded saved network, ``info`` its description) to ``path``; returns max |Δ| against
    torch over ``CHECK_SIZES``. Raises ExportError, leaving no file, when the export or the check fails."""
    import onnx  # deferred (here and below): only export and ONNX inference need them

    path, net = Path(path), net.eval().cpu()
    example = _image(info["io"], CHECK_SIZES[0], seed=0)
    height, width = torch.export.Dim("height", min=2), torch.export.Dim("width", min=2)
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw.onnx"
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch's own deprecations inside the exporter
                torch.onnx.export(net, (example,), str(raw), dynamo=True, input_names=["image"],
                                  output_names=["restored"], dynamic_shapes=({2: height, 3: width},), verbose=False)
        except Exception as err:  # noqa: BLE001 - the exporter raises many kinds; each means "cannot export"
            raise ExportError(f"torch could not export this {info['genotype'].space} network to ONNX "
                              f"({type(err).__name__}: {str(err).splitlines()[0][:300]})") from None
        model = onnx.load(str(raw))
        model.metadata_props.add(key=METADATA_KEY, value=json.dumps(describe(info)))
        partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(partial))
    difference = max_difference(net, OnnxNetwork(partial), info["io"])
    if not difference <= TOLERANCE:
        partial.unlink()
        raise ExportError(f"the ONNX file differs from torch by {difference:.3g} (more than {TOLERANCE:g}); not kept")
    partial.replace(path)
    return difference


def describe(info: dict) -> dict:
    """A saved network's description as JSON values (what ``load_onnx`` reads back)."""
    return {"task": info["task"], "condition": info["condition"], "io": asdict(info["io"]), "width": info["width"],
            "genotype": info["genotype"].to_json(indent=None)}


def max_difference(net: nn.Module, other: nn.Module, io: NetworkIO) -> float:
    with torch.no_grad():
        return max(float((net(x) - other(x)).abs().max()) for x in (_image(io, size, seed=1) for size in CHECK_SIZES))


def _image(io: NetworkIO, size: tuple[int, int], seed: int) -> torch.Tensor:
    return torch.rand(1, io.in_channels, *size, generator=torch.Generator().manual_seed(seed))


class OnnxNetwork(nn.Module):
    """An exported network run by ONNX Runtime on the CPU, as a module ((1, C, H, W) -> (1, C', sH, sW))."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime  # deferred: as above

        super().__init__()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)  # where inputs go: the CPU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run(None, {self.input_name: image})[0])


def load_onnx(path: str | Path) -> tuple[nn.Module, dict]:
    """(network, description) of a file ``export`` wrote, as ``saved_network.load_network`` gives them."""
    import onnx  # deferred: as above

    try:
        metadata = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path}: not a readable ONNX file ({type(err).__name__}: {str(err)[:200]})") from None
    if METADATA_KEY not in metadata:
        raise ValueError(f"{path}: an ONNX file without this tool's description ({METADATA_KEY}); export it with "
                         f"`python -m orchestrator export`")
    found = json.loads(metadata[METADATA_KEY])
    info = {**found, "io": NetworkIO(**found["io"]), "genotype": genotype_from_json(found["genotype"])}
    return OnnxNetwork(path), info
