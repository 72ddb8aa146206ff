"""Deriving the discrete architecture (hinas-spec section 6): top-2 edges per node and the Viterbi width path."""

import math

import torch

from .cell import edge_index
from .genotype import CellGenotype
from .ops import DERIVABLE
from .space import MOVES


def derive_cell(op_weights: torch.Tensor, nodes: int) -> CellGenotype:
    """op_weights: (edges, 7) softmax. Each edge is scored by its best non-`none` op; each node keeps
    its 2 best edges, each with that op. `none` can never be chosen."""
    usable = op_weights[:, : len(DERIVABLE)]  # `none` is the last column
    best_weight, best_op = usable.max(dim=1)
    cell = []
    for node in range(nodes):
        rows = [edge_index(node, j) for j in range(2 + node)]
        # Ties go to the lower input index (stable sort) so derivation is deterministic.
        ranked = sorted(range(2 + node), key=lambda j: -float(best_weight[rows[j]]))[:2]
        cell.append(tuple((DERIVABLE[int(best_op[rows[j]])], j) for j in sorted(ranked)))
    return tuple(cell)


def transition_log_probs(beta_probs: torch.Tensor) -> list[dict[tuple[int, int], float]]:
    """Per layer, {(source level, destination level): log p}. Layer 0's source is the stem (level 0)."""
    beta_probs = beta_probs.detach()
    layers, levels, _ = beta_probs.shape
    out = []
    for layer in range(layers):
        sources = [0] if layer == 0 else range(levels)
        moves = {}
        for src in sources:
            for m, move in enumerate(MOVES):
                dst, p = src + move, float(beta_probs[layer, src, m])
                if 0 <= dst < levels and p > 0:
                    moves[(src, dst)] = math.log(p)
        out.append(moves)
    return out


def viterbi_path(beta_probs: torch.Tensor) -> tuple[int, ...]:
    """The width path of maximum total probability, moving at most one level per layer from level 0."""
    steps = transition_log_probs(beta_probs)
    best = {0: (0.0, ())}  # level -> (log prob, path so far); before layer 0 we are at the stem, level 0
    for moves in steps:
        nxt: dict[int, tuple[float, tuple[int, ...]]] = {}
        for (src, dst), logp in sorted(moves.items()):
            if src not in best:
                continue
            score = best[src][0] + logp
            if dst not in nxt or score > nxt[dst][0]:
                nxt[dst] = (score, best[src][1] + (dst,))
        best = nxt
    return max(best.values(), key=lambda v: v[0])[1]
