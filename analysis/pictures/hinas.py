"""HiNAS's pictures: derived cells with the width path, and alpha / beta heat maps.

Cells are drawn directly (no graphviz): inputs on the left, nodes in a row, the concatenated output on the
right; each edge label is placed at the first spot along its edge that overlaps no earlier label or node.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from analysis.pictures.base import PICTURES, SpacePictures
from analysis.plots import _annotate, _save, plt

# Kept here rather than imported from search_space so that plotting does not import torch; a test checks it
# against search_space.ops.PRIMITIVES.
PRIMITIVES = ("conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "skip_connect",
              "none")
MOVES = ("down", "stay", "up")  # beta's columns, as search_space.space.MOVES (-1, 0, 1)
SHORT = {"conv_3x3": "conv 3x3", "sep_conv_3x3": "sep 3x3", "sep_conv_5x5": "sep 5x5",
         "dil_conv_3x3": "dil 3x3", "dil_conv_5x5": "dil 5x5", "skip_connect": "skip", "none": "none"}
OP_COLORS = dict(zip(PRIMITIVES, plt.get_cmap("tab10").colors, strict=False))
_DX, _INPUT_Y, _R = 1.9, 2.4, 0.38
_LABEL_SPOTS = (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8)


# --- cells and width path -----------------------------------------------------------------------------------
def _state_xy(index: int) -> tuple[float, float]:
    """Input 0 (c_{k-2}) top left, input 1 (c_{k-1}) bottom left, node j at index j+2 on the middle row."""
    return (0.0, _INPUT_Y) if index == 0 else (0.0, -_INPUT_Y) if index == 1 else (_DX * (index - 1), 0.0)


def _bezier(p0, p1, rad: float, t: float) -> np.ndarray:
    """Point t along matplotlib's arc3 curve (equal aspect): control = midpoint + rad * (dy, -dx)."""
    p0, p1 = np.asarray(p0), np.asarray(p1)
    d = p1 - p0
    control = (p0 + p1) / 2 + rad * np.array([d[1], -d[0]])
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p1


def _place_label(ax, text: str, p0, p1, rad: float, color, taken: list) -> None:
    renderer = ax.figure.canvas.get_renderer()
    best = None
    for t in _LABEL_SPOTS:
        artist = ax.text(*_bezier(p0, p1, rad, t), text, fontsize=8, color=color, ha="center", va="center",
                         zorder=5, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": color, "lw": 0.6})
        box = artist.get_window_extent(renderer).expanded(1.05, 1.1)
        overlap = sum(_area(box, other) for other in taken)
        if best is None or overlap < best[0]:
            if best is not None:
                best[1].remove()
            best = (overlap, artist, box)
        else:
            artist.remove()
        if overlap == 0:
            break
    taken.append(best[2])


def _area(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0) * max(h, 0)


def cell_axes(ax, nodes: int, title: str) -> None:
    """Fix the panel's extent first: label collisions are checked in display space, which must not move."""
    ax.set_aspect("equal")
    ax.set_xlim(-1.0, _DX * (nodes + 1) + 1.0)
    ax.set_ylim(-_INPUT_Y - 0.9, _INPUT_Y + 0.9)
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def draw_cell(ax, cell: Sequence) -> None:
    """One cell on a panel set up by ``cell_axes``: its labelled (op, input) edges and the dashed concat
    edges into the output."""
    nodes = len(cell)
    patches = [_box(ax, _state_xy(0), "$c_{k-2}$", "#dbe9f6"), _box(ax, _state_xy(1), "$c_{k-1}$", "#dbe9f6")]
    patches += [_node(ax, _state_xy(j + 2), str(j)) for j in range(nodes)]
    out = _box(ax, (_DX * (nodes + 1), 0.0), "$c_{k}$", "#fde2c8")
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    taken = [p.get_window_extent(renderer) for p in [*patches, out]]
    for j in range(nodes):
        _arrow(ax, patches[j + 2], out, "0.6", -0.25 * (nodes - 1 - j), dashed=True)
    for j, node in enumerate(cell):
        for op, source in node:
            rad = 0.0 if source < 2 or source == j + 1 else 0.3
            _arrow(ax, patches[source], patches[j + 2], OP_COLORS.get(op, "k"), rad)
            _place_label(ax, SHORT.get(op, op), _state_xy(source), _state_xy(j + 2), rad,
                         OP_COLORS.get(op, "k"), taken)


def _box(ax, xy, text: str, color: str):
    patch = FancyBboxPatch((xy[0] - 0.55, xy[1] - 0.32), 1.1, 0.64, boxstyle="round,pad=0.05", fc=color,
                           ec="0.3", zorder=3)
    ax.add_patch(patch)
    ax.text(*xy, text, ha="center", va="center", fontsize=10, zorder=4)
    return patch


def _node(ax, xy, text: str):
    patch = Circle(xy, _R, fc="#eeeeee", ec="0.3", zorder=3)
    ax.add_patch(patch)
    ax.text(*xy, text, ha="center", va="center", fontsize=10, zorder=4)
    return patch


def _arrow(ax, start, end, color, rad: float, dashed: bool = False) -> None:
    ax.add_patch(FancyArrowPatch(patchA=start, patchB=end, posA=_center(start), posB=_center(end),
                                 arrowstyle="-|>", mutation_scale=10, color=color, lw=1.0 if dashed else 1.4,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}",
                                 zorder=2))


def _center(patch) -> tuple[float, float]:
    if isinstance(patch, Circle):
        return patch.center
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


def draw_path(ax, path: Sequence[int] | None, node_widths: Sequence[int], levels: int = 3) -> None:
    """The width level per layer (stem at level 0), each point annotated with its node width."""
    layers = np.arange(1, len(node_widths) + 1)
    if path is None:
        ax.plot(layers, node_widths, "o-", color="tab:purple")
        ax.set_ylabel("node width (channels)")
        ax.set_title("widths set by hand (no width search)", fontsize=10)
        for x, w in zip(layers, node_widths, strict=True):
            ax.annotate(f"{w} ch", (x, w), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=9)
    else:
        ax.plot(np.r_[0, layers], np.r_[0, list(path)], "o-", color="tab:purple")
        ax.set_yticks(range(levels), [f"level {h}" for h in range(levels)])
        ax.set_ylim(-0.5, levels - 0.5)
        ax.set_title("width path across layers", fontsize=10)
        for x, level, w in zip(layers, path, node_widths, strict=True):
            ax.annotate(f"{w} ch", (x, level), textcoords="offset points", xytext=(0, 9), ha="center",
                        fontsize=9)
    ax.set_xticks(np.r_[0, layers], ["stem", *[f"layer {i}" for i in layers]])
    ax.set_xlabel("layer")
    ax.grid(alpha=0.3)


def plot_genotype(genotype, out_path: str | Path, title: str = "", width: int = 20) -> Path:
    """One figure per genotype: a panel per distinct cell (with the layers that use it) and the width path."""
    cells: dict = {}
    for layer in range(genotype.layers):
        cells.setdefault(genotype.cell_for_layer(layer), []).append(layer + 1)
    nodes = genotype.nodes
    fig, axes = plt.subplots(len(cells) + 1, 1, figsize=(1.45 * (nodes + 3), 3.3 * len(cells) + 2.6),
                             gridspec_kw={"height_ratios": [1.6] * len(cells) + [1]})
    for ax, layers in zip(axes, cells.values(), strict=False):
        cell_axes(ax, nodes, f"cell of layer{'s' if len(layers) > 1 else ''} {', '.join(map(str, layers))}")
    draw_path(axes[-1], genotype.path, genotype.node_widths(width))
    fig.suptitle(title or f"HiNAS genotype (LWAS {genotype.lwas}, ResL {genotype.residual}, f={width})")
    fig.tight_layout()
    for ax, cell in zip(axes, cells, strict=False):
        draw_cell(ax, cell)
    return _save(fig, out_path)


# --- architecture weights -----------------------------------------------------------------------------------
def _softmax(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    x = np.where(mask, x, -np.inf) if mask is not None else x
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _is_probability(x: np.ndarray) -> bool:
    finite = np.nan_to_num(x)
    return bool((finite >= 0).all() and np.allclose(finite.sum(axis=-1), 1.0, atol=1e-3))


def edge_names(nodes: int) -> list[str]:
    """Rows of alpha, node by node: c_{k-2} → 0, c_{k-1} → 0, c_{k-2} → 1, ..., 0 → 1, ... (mathtext)."""
    sources = lambda j: ["$c_{k-2}$", "$c_{k-1}$", *map(str, range(j))]  # noqa: E731
    return [f"{s} → {j}" for j in range(nodes) for s in sources(j)]


def _nodes_for(edges: int) -> int:
    nodes = 0
    while sum(2 + i for i in range(nodes)) < edges:
        nodes += 1
    return nodes


def plot_alpha(alpha: np.ndarray, out_path: str | Path, title: str = "alpha") -> Path:
    """Heat map per cell (edges x ops), softmax values annotated. Raw logits are softmaxed first."""
    alpha = np.asarray(alpha, dtype=float)
    alpha = alpha[None] if alpha.ndim == 2 else alpha
    weights = alpha if _is_probability(alpha) else _softmax(alpha)
    cells, edges, ops = weights.shape
    fig, axes = plt.subplots(1, cells, figsize=(5.2 * cells, 0.36 * edges + 2.2), squeeze=False)
    for c, ax in enumerate(axes[0]):
        image = ax.imshow(weights[c], cmap="viridis", vmin=0, vmax=max(weights.max(), 1e-9), aspect="auto")
        _annotate(ax, weights[c])
        ax.set_xticks(range(ops), [SHORT.get(p, p) for p in PRIMITIVES[:ops]], rotation=40, ha="right")
        ax.set_yticks(range(edges), edge_names(_nodes_for(edges)) if c == 0 else [""] * edges)
        ax.set_title(f"cell {c + 1}" if cells > 1 else "cell")
        ax.set_xlabel("operation")
    axes[0][0].set_ylabel("edge (input → node)")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="softmax weight")
    fig.suptitle(title, y=1.04)
    return _save(fig, out_path)


def plot_beta(beta: np.ndarray, out_path: str | Path, title: str = "beta") -> Path:
    """Heat map per layer (source level x move), masked softmax; impossible moves show a dash."""
    beta = np.asarray(beta, dtype=float)
    layers, levels, moves = beta.shape
    mask = np.array([[0 <= h + m < levels for m in (-1, 0, 1)] for h in range(levels)])
    weights = beta if _is_probability(np.where(mask, beta, 0)) else _softmax(beta, mask)
    weights = np.where(mask, weights, np.nan)
    fig, axes = plt.subplots(1, layers, figsize=(2.6 * layers + 1.2, 0.55 * levels + 2), squeeze=False)
    for layer, ax in enumerate(axes[0]):
        image = ax.imshow(weights[layer], cmap="magma", vmin=0, vmax=1, aspect="auto")
        _annotate(ax, weights[layer])
        ax.set_xticks(range(moves), MOVES[:moves])
        ax.set_yticks(range(levels), [f"level {h}" for h in range(levels)] if layer == 0 else [""] * levels)
        ax.set_title(f"layer {layer + 1}")
        ax.set_xlabel("move")
    axes[0][0].set_ylabel("source level")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="softmax weight")
    fig.suptitle(title, y=1.04)
    return _save(fig, out_path)




@PICTURES.register
class HinasPictures(SpacePictures):
    name = "hinas"

    def architecture(self, genotype, out_path: Path, title: str, width: int) -> Path:
        return plot_genotype(genotype, out_path, title=title, width=width)

    def arch_weights(self, weights: dict[str, np.ndarray], out_dir: Path, title: str) -> list[Path]:
        plots = {"alpha": plot_alpha, "beta": plot_beta}
        return [plots[name](values, out_dir / f"{name}.png", title=f"{name} ({title})")
                for name, values in weights.items() if name in plots]
