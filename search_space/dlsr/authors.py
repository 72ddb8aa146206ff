"""The DLSR authors' published checkpoints (DawnHH/DLSR-PyTorch @ 3ea0d84, their RFDN module names) in this
space's own derived network: every tensor renamed, its shape checked, fusion inputs reordered to ours, so that
their trained weights run, are evaluated and are compared as any network of ours (the `import` command).

Facts from their files: module names from ``models/rfdn_6_train_beta21.py`` (and ``_tiny``, nf 18) and the op
layouts from ``models/operations_hh.py``; their ``genotypes_rfdn.py`` has no ``beta21``, so the ops are read
from the tensors. Their names -> ours: ``fea_conv`` -> ``stem``; ``B{k}.c{i}_d`` -> ``cells.{k-1}.distill.{i-1}``;
``B{k}.c{i}_r.op.*`` -> ``cells.{k-1}.layers.{i-1}`` (conv: ``op.0``; sep conv: ``op.1/2/4/5`` -> dw1, pw1,
dw2, pw2; dil conv: ``op.1/2`` -> dw, pw); ``B{k}.c4/c5`` -> ``tail/fuse``; ESA ``conv1, conv_f, conv2,
conv_max, conv3, conv3_, conv4`` -> ``reduce, skip, down, pool_conv, conv_a, conv_b, expand``; ``c{k}.0`` (the
fusion before B_k) -> ``fusions.{k-3}``; ``cout.0`` -> ``head_fuse``; ``LR_conv`` -> ``head_conv``;
``upsampler.0`` -> ``upsample.0``. Their nets see 0..255 images with no mean shift, as ours with rgb_range 255.
A fusion's weight has one input-channel block per concatenated cell in the order their model file concatenates
them (beta21: ascending, as ours); a genotype JSON may list another order, and the blocks are permuted to ours.
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
# per op kind: the authors' indices in ``op`` (a Sequential with ReLUs between) -> our submodule prefixes
_PARTS = {"conv": {"0": ""}, "dil_conv": {"1": "dw.", "2": "pw."},
          "sep_conv": {"1": "dw1.", "2": "pw1.", "4": "dw2.", "5": "pw2."}}
_FIXED = {"fea_conv": "stem", "cout.0": "head_fuse", "LR_conv": "head_conv", "upsampler.0": "upsample.0"}


def state_dict_of(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint dict (``state_dict`` inside, or the dict itself), without ``module.``."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("not a checkpoint of tensors: expected a dict with 'state_dict' or a state_dict itself")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _kind(op: str) -> str:
    return op.rpartition("_")[0]


def infer_cell(state: dict[str, torch.Tensor]) -> tuple[str, ...]:
    """The ops of B1's three refinement layers, read from their tensors (which parts exist, kernel size)."""
    ops = []
    for layer in (1, 2, 3):
        prefix = f"B1.c{layer}_r.op."
        parts = sorted({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})
        kind = next((kind for kind, ours in _PARTS.items() if sorted(ours) == parts), None)
        if kind is None:
            raise ValueError(f"B1.c{layer}_r: its tensors (op parts {parts or 'none'}) are none of conv (op.0), "
                             f"dil conv (op.1, 2), sep conv (op.1, 2, 4, 5)")
        kernel = state[f"{prefix}{parts[0]}.weight"].shape[-1]
        ops.append(f"{kind}_{kernel}x{kernel}")
    return tuple(ops)


def authors_names(genotype: Genotype) -> list[str]:
    """Every tensor name of the authors' RFDN of ``genotype`` (their model file's modules, in its order)."""
    def weight_bias(*modules: str) -> list[str]:
        return [f"{m}.{t}" for m in modules for t in ("weight", "bias")]
    names = weight_bias("fea_conv")
    for k in range(1, genotype.cells + 1):
        names += weight_bias(*(f"B{k}.c{i}_d" for i in (1, 2, 3)))
        names += [f"B{k}.c{i}_r.op.{p}.weight" for i, op in enumerate(genotype.cell, 1) for p in _PARTS[_kind(op)]]
        names += weight_bias(f"B{k}.c4", f"B{k}.c5", *(f"B{k}.esa.{e}" for e in _ESA))
    fusions = [] if genotype.inputs is None else [f"c{k}.0" for k in range(FIRST_SEARCHED_CELL, genotype.cells + 1)]
    return names + weight_bias(*fusions, "cout.0", "LR_conv", "upsampler.0")


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
        part = _PARTS[_kind(cell_ops[layer])].get(op.group(1))
        return None if part is None else f"{cell}.layers.{layer}.{part}{op.group(2)}"
    return None


def reorder_fusion(weight: torch.Tensor, theirs: tuple[int, ...]) -> torch.Tensor:
    """A fusion weight whose input blocks come in ``theirs`` cell order, permuted to ascending order."""
    blocks = weight.chunk(len(theirs), dim=1)
    return torch.cat([blocks[theirs.index(cell)] for cell in sorted(theirs)], dim=1)


def read_genotype(genotype: Genotype | dict | None, state: dict[str, torch.Tensor]
                  ) -> tuple[Genotype, tuple[tuple[int, ...], ...]]:
    """(genotype, the authors' concatenation order per fusion). None: beta21's connections with the ops read
    from the tensors; a Genotype: as given, inputs concatenated ascending (as the authors' beta21 file); a
    genotype JSON dict: its ``inputs`` list each fusion's cells in the authors' concatenation order."""
    if genotype is None:
        return Genotype(cell=infer_cell(state), inputs=BETA21.inputs), BETA21.inputs
    if isinstance(genotype, Genotype):
        return genotype, genotype.inputs or ()
    if genotype.get("space", "dlsr") != "dlsr":
        raise ValueError(f"the genotype is of search space {genotype['space']!r}, not dlsr")
    ours = Genotype.from_dict({k: v for k, v in genotype.items() if k != "space"})
    inputs = genotype.get("inputs") or {}
    order = tuple(tuple(int(j) for j in inputs[f"B{k}"]) for k in range(FIRST_SEARCHED_CELL, ours.cells + 1)
                  if f"B{k}" in inputs)
    return ours, order


def network_io(state: dict[str, torch.Tensor]) -> tuple[NetworkIO, int]:
    """(I/O, width) from the stem (channels in, nf out) and the upsampler (channels * scale^2 outputs)."""
    stem, up = state.get("fea_conv.weight"), state.get("upsampler.0.weight")
    if stem is None or up is None or stem.dim() != 4 or up.dim() != 4:
        raise ValueError("fea_conv.weight / upsampler.0.weight: missing or not convolution weights: not an RFDN")
    channels, width = stem.shape[1], stem.shape[0]
    scale = round((up.shape[0] / channels) ** 0.5)
    if scale < 1 or channels * scale**2 != up.shape[0]:
        raise ValueError(f"upsampler.0.weight {tuple(up.shape)}: {up.shape[0]} outputs are not {channels} channels "
                         f"x scale^2 for a pixel shuffle")
    return NetworkIO(channels, channels, scale), width


def from_authors_checkpoint(checkpoint: dict, genotype: Genotype | dict | None = None
                            ) -> tuple[Genotype, NetworkIO, int, dict[str, torch.Tensor]]:
    """(genotype, I/O, width, state_dict in our names) of an authors' checkpoint (the saved dict or its
    state_dict), every tensor's shape checked against our network of that genotype: a one-line ValueError
    names the first tensor that does not fit. ``genotype``: see ``read_genotype`` (None: beta21)."""
    state = state_dict_of(checkpoint)
    genotype, order = read_genotype(genotype, state)
    io, width = network_io(state)
    expected = DerivedNet(genotype, io, width).state_dict()
    fits = f"the DLSR network of {genotype.to_dict()} at width {width}"
    ours = {}
    for name, tensor in state.items():
        mapped = our_name(name, genotype.cell)
        if mapped not in expected or expected[mapped].shape != tensor.shape:
            want = f"{mapped} {tuple(expected[mapped].shape)}" if mapped in expected else "no such tensor"
            raise ValueError(f"{name} {tuple(tensor.shape)} does not fit {fits} (ours: {want}); give the "
                             f"checkpoint's genotype (--genotype)")
        if mapped.startswith("fusions.") and mapped.endswith(".weight"):
            tensor = reorder_fusion(tensor, order[int(mapped.split(".")[1])])
        ours[mapped] = tensor
    theirs = {our_name(name, genotype.cell): name for name in authors_names(genotype)}
    missing = [name for name in expected if name not in ours]
    if missing:
        raise ValueError(f"{theirs.get(missing[0], '?')}: missing from the checkpoint ({len(missing)} missing); "
                         f"{fits} needs it (ours: {missing[0]} {tuple(expected[missing[0]].shape)}); give the "
                         f"checkpoint's genotype (--genotype)")
    return genotype, io, width, ours
