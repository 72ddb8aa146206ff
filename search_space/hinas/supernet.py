"""The HiNAS supernet: L layers of searching cells at up to 3 width levels (Eq. 4-6).

Inputs of the cell at layer l, level i:
  newer  s_l^i = sum_k beta(k->i) * P_{l,k->i}(h_{l-1}^k)   (h: cell outputs of layer l-1, B*C_k channels)
  older  o_l^i = sum_k beta(k->i) * Q_{l,k->i}(s_{l-1}^k)   (s: the newer inputs that fed layer l-1)
P is a 1x1 conv + BN; Q is the identity between equal widths (so with beta one-hot, the older input is
exactly "the mixed input that fed the previous layer"), else a 1x1 conv + BN. Mixing the older input with
the same beta makes a single path through the supernet (RSWS) the same network as the derived one.
Layer 0's only source is the stem, at level 0.

Cell sharing on (Eq. 5): one cell per level processes the beta-weighted sum of its inputs.
Cell sharing off (Eq. 6): one cell per (source, destination) pair; outputs are beta-weighted.
"""

import functools
import operator

import torch
from torch import nn

from ..core import NetworkIO
from ..core import Supernet as BaseSupernet
from .blocks import Head, Projection, Stem, channels_last, reconstruct, to_channels_last
from .cell import SearchCell
from .derive import derive_cell, viterbi_path
from .genotype import Genotype
from .ops import PRIMITIVES
from .space import MOVES, HinasConfig


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    """Plain adds: unlike torch.stack(...).sum(), no stacked copy of the terms is kept."""
    return functools.reduce(operator.add, terms)


class Supernet(BaseSupernet):
    def __init__(self, space: HinasConfig, io: NetworkIO):
        super().__init__()
        self.space, self.io = space, io
        b = space.nodes
        self.stem = Stem(io.in_channels, space.stem_width, space.layer_widths(0)[0])
        self.transitions = nn.ModuleList()  # per layer: ModuleDict "k_i" -> (P, Q)
        self.cells = nn.ModuleList()  # per layer: ModuleDict "i" (sharing) or "k_i" (no sharing)
        for layer in range(space.layers):
            trans, cells = nn.ModuleDict(), nn.ModuleDict()
            for src, dst in self.layer_moves(layer):
                src_in = self.source_width(layer, src)
                src_out = src_in if layer == 0 else b * src_in
                dst_width = self.level_width(layer, dst)
                trans[f"{src}_{dst}"] = nn.ModuleList([
                    Projection(src_out, dst_width, affine=False),
                    Projection(src_in, dst_width, affine=False, always_project=False),
                ])
                if not space.cell_sharing:
                    cells[f"{src}_{dst}"] = SearchCell(dst_width, b)
            if space.cell_sharing:
                for dst in self.levels_at(layer):
                    cells[str(dst)] = SearchCell(self.level_width(layer, dst), b)
            self.transitions.append(trans)
            self.cells.append(cells)
        last = space.layers - 1
        head_in = sum(b * self.level_width(last, h) for h in self.levels_at(last))
        self.head = Head(head_in, space.head_width, io.out_channels * io.scale**2)
        self._init_arch_parameters()
        to_channels_last(self)

    # --- structure --------------------------------------------------------------------------------------
    def levels_at(self, layer: int) -> range:
        return self.space.levels_at(layer)

    def level_width(self, layer: int, level: int) -> int:
        return self.space.layer_widths(layer)[level]

    def source_width(self, layer: int, src: int) -> int:
        """Width C of the newer input that fed source level `src` (layer 0: the stem's output)."""
        return self.space.layer_widths(0)[0] if layer == 0 else self.level_width(layer - 1, src)

    def layer_moves(self, layer: int) -> list[tuple[int, int]]:
        sources = [0] if layer == 0 else list(self.levels_at(layer - 1))
        dests = self.levels_at(layer)
        return [(k, i) for i in dests for k in sources if abs(i - k) <= 1]

    # --- architecture parameters ------------------------------------------------------------------------
    def _init_arch_parameters(self) -> None:
        space = self.space
        # alpha: (L, k, 7) with LWAS, (1, k, 7) without; ones = uniform softmax (as the reference).
        self.alpha = nn.Parameter(torch.ones(space.num_alpha_cells, space.edges_per_cell, len(PRIMITIVES)))
        if space.width_search:
            self.beta = nn.Parameter(torch.ones(space.layers, space.levels, len(MOVES)))
        else:
            self.register_parameter("beta", None)
        self.register_buffer("move_mask", space.move_mask(), persistent=False)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [p for p in (self.alpha, self.beta) if p is not None]

    def alpha_weights(self) -> torch.Tensor:
        return self.alpha.softmax(dim=-1)

    def beta_weights(self) -> torch.Tensor:
        """(L, levels, 3) softmax over each source level's legal moves; illegal moves get exactly 0."""
        if self.beta is None:
            return torch.ones(self.space.layers, 1, len(MOVES)).to(self.alpha)
        return self.beta.masked_fill(~self.move_mask, float("-inf")).softmax(dim=-1)

    # --- forward ----------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_last(x)
        alphas, betas = self.alpha_weights(), self.beta_weights()
        newer, older = self.stem(x)
        outs, ins = {0: newer}, {0: older}
        for layer in range(self.space.layers):
            op_weights = alphas[layer if self.space.lwas else 0]
            outs, ins = self._layer(layer, outs, ins, op_weights, betas[layer])
        return self._finish(x, outs)

    def _layer(self, layer, outs, ins, op_weights, beta):
        new_outs, new_ins = {}, {}
        for dst in self.levels_at(layer):
            moves = [(k, i) for k, i in self.layer_moves(layer) if i == dst]
            newer_terms, older_terms, cell_terms = [], [], []
            for src, _ in moves:
                w = beta[src, dst - src + 1]
                proj_new, proj_old = self.transitions[layer][f"{src}_{dst}"]
                if self.space.cell_sharing:
                    newer_terms.append(proj_new(outs[src], w))
                    older_terms.append(proj_old(ins[src], w))
                else:
                    s1, s0 = proj_new(outs[src]), proj_old(ins[src])
                    newer_terms.append(s1 * w)
                    cell_terms.append(self.cells[layer][f"{src}_{dst}"](s0, s1, op_weights) * w)
            new_ins[dst] = _sum(newer_terms)
            if self.space.cell_sharing:
                new_outs[dst] = self.cells[layer][str(dst)](_sum(older_terms), new_ins[dst], op_weights)
            else:
                new_outs[dst] = _sum(cell_terms)
        return new_outs, new_ins

    def _finish(self, x: torch.Tensor, outs: dict[int, torch.Tensor]) -> torch.Tensor:
        last = self.space.layers - 1
        features = torch.cat([outs[h] for h in self.levels_at(last)], dim=1)
        return reconstruct(x, self.head(features), self.io.scale, self.space.residual)

    def forward_path(self, x: torch.Tensor, arch: Genotype) -> torch.Tensor:
        """Single-path execution of one discrete architecture on the shared weights (RSWS).

        Only the ops, projections and cells on the path run, with weight 1, so only they get gradients.
        The head sees zeros in place of the levels the path does not end on.
        """
        x = channels_last(x)
        newer, older = self.stem(x)
        src = 0
        levels = arch.path if arch.path is not None else (0,) * self.space.layers
        for layer, dst in enumerate(levels):
            proj_new, proj_old = self.transitions[layer][f"{src}_{dst}"]
            s1, s0 = proj_new(newer), proj_old(older)
            key = str(dst) if self.space.cell_sharing else f"{src}_{dst}"
            newer, older = self.cells[layer][key].forward_path(s0, s1, arch.cell_for_layer(layer)), s1
            src = dst
        last = self.space.layers - 1
        outs = {h: newer if h == src else newer.new_zeros(newer.shape[0], self.space.nodes *
                                                          self.level_width(last, h), *newer.shape[2:])
                for h in self.levels_at(last)}
        return self._finish(x, outs)

    # --- derivation -------------------------------------------------------------------------------------
    @torch.no_grad()
    def derive(self) -> Genotype:
        """The discrete architecture: top-2 edges per node (never `none`) and the Viterbi width path."""
        s = self.space
        alphas = self.alpha_weights()
        cells = tuple(derive_cell(alphas[c], s.nodes) for c in range(s.num_alpha_cells))
        path = viterbi_path(self.beta_weights()) if s.width_search else None
        return s.genotype(cells, path)

    @torch.no_grad()
    def arch_weights(self) -> dict[str, torch.Tensor]:
        weights = {"alpha": self.alpha_weights().detach().cpu()}
        if self.beta is not None:
            weights["beta"] = self.beta_weights().detach().cpu()
        return weights
