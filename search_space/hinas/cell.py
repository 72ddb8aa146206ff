"""Cells (Eq. 1-3): the searching cell with a mixed op on every edge, and the derived (discrete) cell.

Both have B nodes and two inputs; node i sums one term per incoming edge from the 2 inputs and nodes
0..i-1, and the cell outputs the concatenation of its B nodes (B*C channels).
"""

import torch
from torch import nn

from .genotype import CellGenotype
from .ops import DERIVABLE, OPS, PRIMITIVES, leaky_relu


def edge_index(node: int, input_index: int) -> int:
    """Row of alpha for the edge input_index -> node (edges are numbered node by node)."""
    return sum(2 + i for i in range(node)) + input_index


class _States:
    """The states of a cell (inputs, then nodes) with their LeakyReLU computed once, on first use."""

    def __init__(self, s0: torch.Tensor, s1: torch.Tensor):
        self.raw = [s0, s1]
        self._activated: dict[int, torch.Tensor] = {}

    def activated(self, j: int) -> torch.Tensor:
        if j not in self._activated:
            self._activated[j] = leaky_relu(self.raw[j])
        return self._activated[j]

    def input_for(self, op: nn.Module, j: int) -> torch.Tensor:
        """State j as the op expects it: activated for conv ops, raw for skip_connect."""
        return self.activated(j) if op.preactivated else self.raw[j]


class _NodeSums:
    """Per node, the running sum of its incoming terms. Terms may be views into a group's output, so the
    first two are added out of place; later ones go in place into that fresh sum."""

    def __init__(self, nodes: int):
        self._sums: list[torch.Tensor | None] = [None] * nodes
        self._owned = [False] * nodes

    def add(self, node: int, term: torch.Tensor) -> None:
        total = self._sums[node]
        if total is None:
            self._sums[node] = term
        elif self._owned[node]:
            total.add_(term)
        else:
            self._sums[node], self._owned[node] = total + term, True

    def result(self, node: int) -> torch.Tensor:
        return self._sums[node]


class SearchCell(nn.Module):
    """A cell whose every edge is a mixed op: sum over ops of softmax(alpha_edge)[op] * op(x).

    `none` is never run: its term is exactly zero. ``forward_path`` runs one discrete cell on the
    same weights (single-path execution for RSWS): only the chosen ops are touched, so only they
    get gradients.
    """

    def __init__(self, width: int, nodes: int):
        super().__init__()
        self.nodes = nodes
        # edges[e][k] is op DERIVABLE[k] (= PRIMITIVES[k]) on edge e; `none` gets no module.
        self.edges = nn.ModuleList(
            nn.ModuleList(OPS[name](width, False) for name in DERIVABLE)
            for node in range(nodes)
            for _ in range(2 + node)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, op_weights: torch.Tensor) -> torch.Tensor:
        """op_weights: (edges, len(PRIMITIVES)) softmax of this cell's alpha.

        Runs source by source: once a state exists, each op kind runs once for all edges leaving it
        (``run_group``); the kinds' outputs are summed, and that sum is split among the nodes it feeds.
        Summing before splitting means backward joins the nodes' gradients once per state, not per kind.
        """
        states = _States(s0, s1)
        sums = _NodeSums(self.nodes)
        for src in range(self.nodes + 1):  # the last node feeds no edge inside the cell
            if src >= 2:
                states.raw.append(sums.result(src - 2))
            dests = range(max(src - 1, 0), self.nodes)
            edges = [edge_index(node, src) for node in dests]
            source_sum = None
            for k, op in enumerate(self.edges[edges[0]]):
                group = [self.edges[e][k] for e in edges]
                out = type(op).run_group(group, states.input_for(op, src), op_weights[edges, k])
                source_sum = out if source_sum is None else source_sum.add_(out)
            for node, term in zip(dests, source_sum.split(s0.shape[1], dim=1), strict=True):
                sums.add(node, term)
        states.raw.append(sums.result(self.nodes - 1))
        return torch.cat(states.raw[2:], dim=1)

    def forward_path(self, s0: torch.Tensor, s1: torch.Tensor, cell: CellGenotype) -> torch.Tensor:
        states = _States(s0, s1)
        for node, chosen in enumerate(cell):
            total = None
            for op_name, j in chosen:
                op = self.edges[edge_index(node, j)][DERIVABLE.index(op_name)]
                term = op(states.input_for(op, j))
                total = term if total is None else total + term
            states.raw.append(total)
        return torch.cat(states.raw[2:], dim=1)


class DerivedCell(nn.Module):
    """A discrete cell: per node two (op, input) pairs, BatchNorm affine=True (hinas-spec section 1)."""

    def __init__(self, width: int, cell: CellGenotype):
        super().__init__()
        self.genotype = cell
        self.ops = nn.ModuleList(OPS[op](width, True) for node in cell for op, _ in node)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = _States(s0, s1)
        for node, chosen in enumerate(self.genotype):
            total = None
            for slot, (_, j) in enumerate(chosen):
                op = self.ops[2 * node + slot]
                term = op(states.input_for(op, j))
                total = term if total is None else total + term
            states.raw.append(total)
        return torch.cat(states.raw[2:], dim=1)


assert PRIMITIVES[: len(DERIVABLE)] == DERIVABLE, "alpha columns of derivable ops must come first"
