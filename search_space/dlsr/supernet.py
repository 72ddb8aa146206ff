"""DLSR's supernet (dlsr-spec 2): DARTS's softmax relaxation at both levels, first order.

- alpha (3 x 9), shared by all cells: layer i of every cell computes sum_k softmax(alpha_i)_k op_k(r).
  The four plain convs are one conv with the weighted sum of their kernels and the five sep/dil convs share
  one ReLU of the input: the same function as running all nine ops, with fewer convolutions and
  fewer stored activations (bench/dlsr_supernet.py measures both).
- beta_k over B1..B_{k-1} for each cell from B3: its input is 1x1(cat_j softmax(beta_k)_j B_j).
Architecture parameters start at 1e-3 N(0, 1) as the authors'.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..core import NetworkIO
from ..core import Supernet as SupernetBase
from .cell import LAYERS, DistillationCell, lrelu
from .genotype import FIRST_SEARCHED_CELL, Genotype
from .network import DerivedNet, DLSRBody
from .ops import PENALTY_COSTS, PRIMITIVES, PlainConv, make_op, merged_plain_kernel
from .space import DLSRConfig

ARCH_INIT_SCALE = 1e-3


class MixedLayer(nn.Module):
    """All nine candidate ops on one input, weighted. ``recompute``: keep only the input for backward and
    run the layer again there (about a third more compute, a fraction of the activation memory)."""

    def __init__(self, channels: int, recompute: bool = False):
        super().__init__()
        self.recompute = recompute
        self.ops = nn.ModuleDict({name: make_op(name, channels) for name in PRIMITIVES})
        self._plain = [i for i, op in enumerate(self.ops.values()) if isinstance(op, PlainConv)]
        self._activated = [i for i in range(len(PRIMITIVES)) if i not in self._plain]

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if self.recompute and torch.is_grad_enabled():
            return checkpoint(self._mixed, x, weights, use_reentrant=False)
        return self._mixed(x, weights)

    def _mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        ops = list(self.ops.values())
        plain = [ops[i] for i in self._plain]
        kernel = merged_plain_kernel(plain, weights[self._plain])
        out = F.conv2d(x, kernel, padding=kernel.shape[-1] // 2)
        activated = F.relu(x)
        for i in self._activated:
            out = out + weights[i] * ops[i].after_relu(activated)
        return out

    def forward_op(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return self.ops[name](x)


class Supernet(SupernetBase, DLSRBody):
    def __init__(self, cfg: DLSRConfig, io: NetworkIO):
        width = cfg.width
        layers = (lambda: [MixedLayer(width, cfg.recompute) for _ in range(LAYERS)]) if cfg.cell_search else (
            lambda: [make_op(op, width) for op in cfg.fixed_ops])
        cells = [DistillationCell(width, layers()) for _ in range(cfg.cells)]
        fusions = [nn.Conv2d(width * (k - 1), width, 1) for k in self._searched_cells(cfg)] \
            if cfg.network_search else None
        DLSRBody.__init__(self, io, width, cells, fusions, cfg.rgb_range)
        self.cfg, self.io = cfg, io
        self.alpha = nn.Parameter(ARCH_INIT_SCALE * torch.randn(LAYERS, len(PRIMITIVES))) if cfg.cell_search \
            else None
        self.betas = nn.ParameterList(nn.Parameter(ARCH_INIT_SCALE * torch.randn(k - 1))
                                      for k in self._searched_cells(cfg)) if cfg.network_search else None

    @staticmethod
    def _searched_cells(cfg: DLSRConfig) -> range:
        return range(FIRST_SEARCHED_CELL, cfg.cells + 1)

    def arch_parameters(self) -> list[nn.Parameter]:
        return ([self.alpha] if self.alpha is not None else []) + (list(self.betas) if self.betas is not None else [])

    # --- relaxed forward --------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.alpha is None:
            run_cell = lambda i, h: self.cells[i](h)  # noqa: E731
        else:
            weights = F.softmax(self.alpha, dim=-1)
            run_cell = lambda i, h: self.cells[i](h, lambda j, r: self.cells[i].layers[j](r, weights[j]))  # noqa: E731
        return self.run(x, run_cell, self._relaxed_input)

    def _relaxed_input(self, index: int, outputs: list[torch.Tensor]) -> torch.Tensor:
        slot = index - (FIRST_SEARCHED_CELL - 1)
        weights = F.softmax(self.betas[slot], dim=-1)
        return lrelu(self.fusions[slot](torch.cat([w * h for w, h in zip(weights, outputs, strict=True)], dim=1)))

    # --- one discrete architecture on the shared weights ------------------------------------------------
    def forward_path(self, x: torch.Tensor, genotype: Genotype) -> torch.Tensor:
        if self.alpha is None:
            run_cell = lambda i, h: self.cells[i](h)  # noqa: E731
        else:
            run_cell = lambda i, h: self.cells[i](  # noqa: E731
                h, lambda j, r: self.cells[i].layers[j].forward_op(r, genotype.cell[j]))
        return self.run(x, run_cell, lambda index, outputs: self._path_input(index, outputs, genotype))

    def _path_input(self, index: int, outputs: list[torch.Tensor], genotype: Genotype) -> torch.Tensor:
        slot = index - (FIRST_SEARCHED_CELL - 1)
        chosen = genotype.inputs[slot]
        fusion = self.fusions[slot]
        weight = torch.cat([self._fusion_columns(fusion, j) for j in chosen], dim=1)
        return lrelu(F.conv2d(torch.cat([outputs[j - 1] for j in chosen], dim=1), weight, fusion.bias))

    def _fusion_columns(self, fusion: nn.Conv2d, cell: int) -> torch.Tensor:
        """The 1x1 fusion's weights that read cell B_cell's output."""
        return fusion.weight[:, (cell - 1) * self.cfg.width: cell * self.cfg.width]

    # --- derivation -------------------------------------------------------------------------------------
    def derive(self) -> Genotype:
        cfg = self.cfg
        cell = cfg.fixed_ops if self.alpha is None else tuple(PRIMITIVES[int(i)] for i in self.alpha.argmax(-1))
        inputs = None
        if self.betas is not None:
            inputs = tuple(tuple(sorted(int(j) + 1 for j in beta.topk(min(cfg.inputs_kept, len(beta))).indices))
                           for beta in self.betas)
        return Genotype(cell=cell, inputs=inputs, cells=cfg.cells, rgb_range=cfg.rgb_range)

    def parameter_penalty(self) -> torch.Tensor:
        """sum over layers and ops of softmax(alpha) * cost / sum(costs) (dlsr-spec section 2); 0 without cell
        search."""
        if self.alpha is None:
            return self.stem.weight.new_zeros(())
        costs = torch.tensor(PENALTY_COSTS, device=self.alpha.device, dtype=self.alpha.dtype)
        return (F.softmax(self.alpha, dim=-1) * costs).sum() / costs.sum()

    def arch_weights(self) -> dict[str, torch.Tensor]:
        weights = {}
        if self.alpha is not None:
            weights["alpha"] = F.softmax(self.alpha.detach(), dim=-1).cpu()
        for k, beta in zip(self._searched_cells(self.cfg), self.betas or [], strict=False):
            weights[f"beta_B{k}"] = F.softmax(beta.detach(), dim=-1).cpu()
        return weights

    def arch_weight_metrics(self) -> dict[str, float]:
        """alpha's and beta's probabilities (the spec logs them every epoch): alpha_<layer>_<op>, beta_B<k>_B<j>;
        the genotype they derive is their argmax / top-k."""
        metrics = {}
        for name, weights in self.arch_weights().items():
            if name == "alpha":
                metrics |= {f"alpha_{layer + 1}_{op}": float(p) for layer, row in enumerate(weights)
                            for op, p in zip(PRIMITIVES, row, strict=True)}
            else:
                metrics |= {f"{name}_B{j + 1}": float(p) for j, p in enumerate(weights)}
        return metrics

    def derived_network(self, genotype: Genotype) -> DerivedNet:
        """The derived network of ``genotype`` with this supernet's weights: the same function as
        ``forward_path(x, genotype)``."""
        net = DerivedNet(genotype, self.io, self.cfg.width).to(self.stem.weight.device)
        state = {}
        for key, value in self.state_dict().items():
            mapped = self._derived_key(key, genotype)
            if mapped is not None:
                state[mapped] = value
        if genotype.inputs is not None:
            for slot, chosen in enumerate(genotype.inputs):
                fusion = self.fusions[slot]
                state[f"fusions.{slot}.weight"] = torch.cat([self._fusion_columns(fusion, j) for j in chosen], 1)
        net.load_state_dict(state)
        return net

    def _derived_key(self, key: str, genotype: Genotype) -> str | None:
        parts = key.split(".")
        if parts[0] in ("alpha", "betas") or (parts[0] == "fusions" and parts[-1] == "weight"):
            return None
        if parts[0] == "cells" and parts[2] == "layers" and self.alpha is not None:
            layer, op = int(parts[3]), parts[5]  # cells.<c>.layers.<i>.ops.<op>.<rest>
            return ".".join(parts[:4] + parts[6:]) if op == genotype.cell[layer] else None
        return key
