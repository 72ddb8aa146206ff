"""The DLSR authors' published checkpoints (DawnHH/DLSR-PyTorch, their RFDN module names) in this space's own
derived network: every tensor renamed, its shape checked, fusion inputs reordered to ours.

Their names -> ours: ``fea_conv`` -> ``stem``; ``B{k}.c{i}_d`` -> ``cells.{k-1}.distill.{i-1}``;
``B{k}.c{i}_r.op.*`` -> ``cells.{k-1}.layers.{i-1}`` (conv: ``op.0``; sep conv: ``op.1/2/4/5`` -> dw1, pw1,
dw2, pw2; dil conv: ``op.1/2`` -> dw, pw); ``B{k}.c4/c5`` -> ``tail/fuse``; ESA ``conv1, conv_f, conv2,
conv_max, conv3, conv3_, conv4`` -> ``reduce, skip, down, pool_conv, conv_a, conv_b, expand``; ``c{k}.0`` (the
fusion before B_k) -> ``fusions.{k-3}``; ``cout.0`` -> ``head_fuse``; ``LR_conv`` -> ``head_conv``;
``upsampler.0`` -> ``upsample.0``. Their nets see 0..255 images, as ours with rgb_range 255.
A fusion concatenates its inputs in the order the authors' model file writes them (``concat_order``); ours
concatenates in ascending cell order, so the weight's input-channel blocks are permuted.
"""

import re

import torch

from ..core import NetworkIO
from .genotype import FIRST_SEARCHED_CELL, Genotype
from .network import DerivedNet

# beta21, the cell and connections of both published checkpoints (the authors' rfdn_6_train_beta21.py)
BETA21 = Genotype(cell=("conv_1x1", "sep_conv_7x7", "sep_conv_5x5"), inputs=((1, 2), (2, 3), (2, 4), (4, 5)))
_ESA = {"conv1": "reduce", "conv_f": "skip", "conv2": "down", "conv_max": "pool_conv", "conv3": "conv_a",
        "conv3_": "conv_b", "conv4": "expand"}
_OP_PARTS = {("0",): ("",), ("1", "2"): ("dw.", "pw."), ("1", "2", "4", "5"): ("dw1.", "pw1.", "dw2.", "pw2.")}
_FIXED = {"fea_conv": "stem", "cout.0": "head_fuse", "LR_conv": "head_conv", "upsampler.0": "upsample.0"}


def state_dict_of(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint dict (``state_dict`` inside, or the dict itself), without ``module.``."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("not a checkpoint of tensors: expected a dict with 'state_dict' or a state_dict itself")
    return {k.removeprefix("module."): v for k, v in state.items()}


def infer_cell(state: dict[str, torch.Tensor]) -> tuple[str, ...]:
    """The ops of B1's three refinement layers, read from their tensors (names and kernel shapes)."""
    ops = []
    for layer in (1, 2, 3):
        prefix = f"B1.c{layer}_r.op."
        parts = tuple(sorted(k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)))
        if parts not in _OP_PARTS:
            raise ValueError(f"B1.c{layer}_r: tensors {parts or 'none'} are none of conv, sep conv, dil conv")
        kernel = state[f"{prefix}{parts[0]}.weight"].shape[-1]
        ops.append({1: "conv", 2: "dil_conv", 4: "sep_conv"}[len(parts)] + f"_{kernel}x{kernel}")
    return tuple(ops)


def our_name(name: str, cell_ops: tuple[str, ...]) -> str | None:
    """The module name in our derived network of one of theirs; None if theirs is not a DLSR network's."""
    for theirs, ours in _FIXED.items():
        if name.startswith(theirs + "."):
            return ours + name[len(theirs):]
    if match := re.fullmatch(r"c(\d+)\.0\.(\w+)", name):
        return f"fusions.{int(match.group(1)) - FIRST_SEARCHED_CELL}.{match.group(2)}"
    if not (match := re.fullmatch(r"B(\d+)\.(\w+)\.(.+)", name)):
        return None
    cell, module, rest = f"cells.{int(match.group(1)) - 1}", match.group(2), match.group(3)
    if module in ("c1_d", "c2_d", "c3_d"):
        return f"{cell}.distill.{int(module[1]) - 1}.{rest}"
    if module in ("c4", "c5"):
        return f"{cell}.{'tail' if module == 'c4' else 'fuse'}.{rest}"
    if module == "esa" and (esa := re.fullmatch(r"(\w+)\.(\w+)", rest)) and esa.group(1) in _ESA:
        return f"{cell}.esa.{_ESA[esa.group(1)]}.{esa.group(2)}"
    if module in ("c1_r", "c2_r", "c3_r") and (op := re.fullmatch(r"op\.(\d)\.(\w+)", rest)):
        layer = int(module[1]) - 1
        parts = next(p for p in _OP_PARTS if len(p) == {"conv": 1, "dil_conv": 2, "sep_conv": 4}[
            cell_ops[layer].rpartition("_")[0]])
        return f"{cell}.layers.{layer}.{_OP_PARTS[parts][parts.index(op.group(1))]}{op.group(2)}"
    return None


def reorder_fusion(weight: torch.Tensor, theirs: tuple[int, ...]) -> torch.Tensor:
    """A fusion weight whose input blocks come in ``theirs`` cell order, permuted to ascending order."""
    blocks = weight.chunk(len(theirs), dim=1)
    return torch.cat([blocks[theirs.index(cell)] for cell in sorted(theirs)], dim=1)


def read_genotype(data: dict | None, state: dict[str, torch.Tensor]
                  ) -> tuple[Genotype, tuple[tuple[int, ...], ...]]:
    """(genotype, the authors' concatenation order per fusion) from a genotype JSON whose ``inputs`` list each
    fusion's cells in the order the authors' model file concatenates them (any order); None: beta21's
    connections, with the ops read from the tensors."""
    if data is None:
        return Genotype(cell=infer_cell(state), inputs=BETA21.inputs), BETA21.inputs
    genotype = Genotype.from_dict({k: v for k, v in data.items() if k != "space"})
    inputs = data.get("inputs") or {}
    order = tuple(tuple(int(j) for j in inputs[f"B{k}"]) for k in range(FIRST_SEARCHED_CELL, genotype.cells + 1)
                  if f"B{k}" in inputs)
    return genotype, order


def from_authors_checkpoint(checkpoint: dict, genotype_json: dict | None = None
                            ) -> tuple[Genotype, NetworkIO, int, dict[str, torch.Tensor]]:
    """(genotype, I/O, width, state_dict in our names) of an authors' checkpoint, every tensor's shape checked
    against our network of that genotype (a ValueError naming the first tensor that does not fit)."""
    state = state_dict_of(checkpoint)
    genotype, order = read_genotype(genotype_json, state)
    width = state["fea_conv.weight"].shape[0] if "fea_conv.weight" in state else 0
    channels = state["fea_conv.weight"].shape[1] if width else 0
    scale = round((state["upsampler.0.weight"].shape[0] / max(channels, 1)) ** 0.5) if width else 0
    if not width or channels * scale**2 != state["upsampler.0.weight"].shape[0]:
        raise ValueError("fea_conv.weight / upsampler.0.weight: missing or not a pixel-shuffle SR network")
    io, expected = NetworkIO(channels, channels, scale), DerivedNet(genotype, NetworkIO(channels, channels, scale),
                                                                    width).state_dict()
    ours = {}
    for name, tensor in state.items():
        mapped = our_name(name, genotype.cell)
        if mapped not in expected or expected[mapped].shape != tensor.shape:
            want = f"{mapped} {tuple(expected[mapped].shape)}" if mapped in expected else "no such tensor"
            raise ValueError(f"{name} {tuple(tensor.shape)} does not fit the DLSR network of {genotype.to_dict()} at "
                             f"width {width} (ours: {want}); give the checkpoint's genotype with --genotype")
        if mapped.startswith("fusions.") and mapped.endswith(".weight"):
            tensor = reorder_fusion(tensor, order[int(mapped.split(".")[1])])
        ours[mapped] = tensor
    missing = [name for name in expected if name not in ours]
    if missing:
        raise ValueError(f"{missing[0]}: our network of {genotype.to_dict()} has this tensor, the checkpoint has "
                         f"none for it ({len(missing)} missing); give the checkpoint's genotype with --genotype")
    return genotype, io, width, ours
