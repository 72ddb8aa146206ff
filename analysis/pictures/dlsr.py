"""DLSR's pictures: the distillation cell and the cell wiring of a genotype, and alpha / beta heat maps.

Drawn directly (no graphviz), in data units at one scale for both panels: boxes on a row, orthogonal
routes for the skips, the distillation branches and the searched inputs, each route at its own height.
"""

from pathlib import Path

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from analysis.pictures.base import PICTURES, SpacePictures
from analysis.plots import _annotate, _save, plt

# Kept here rather than imported from search_space so that plotting does not import torch; a test checks them
# against search_space.dlsr.ops.PRIMITIVES and search_space.dlsr.genotype.FIRST_SEARCHED_CELL.
PRIMITIVES = ("conv_1x1", "conv_3x3", "conv_5x5", "conv_7x7", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
              "dil_conv_3x3", "dil_conv_5x5")
FIRST_SEARCHED_CELL = 3  # B1 reads the stem, B2 reads B1; the inputs of B3.. are searched
SHORT = {"conv_1x1": "conv 1x1", "conv_3x3": "conv 3x3", "conv_5x5": "conv 5x5", "conv_7x7": "conv 7x7",
         "sep_conv_3x3": "sep 3x3", "sep_conv_5x5": "sep 5x5", "sep_conv_7x7": "sep 7x7",
         "dil_conv_3x3": "dil 3x3", "dil_conv_5x5": "dil 5x5"}
OP_COLORS = dict(zip(PRIMITIVES, plt.get_cmap("Pastel1").colors, strict=False))
_H = 0.9  # box height
_INCH = 0.6  # inches per data unit, both panels
_IN, _OUT, _CONV, _CELL, _FUSE = "#dbe9f6", "#fde2c8", "#eeeeee", "#d9f0d3", "#f3e0f7"


# --- drawing primitives -------------------------------------------------------------------------------------
def _box(ax, x: float, y: float, text: str, color: str, w: float = 1.7, fontsize: float = 8.5):
    patch = FancyBboxPatch((x - w / 2, y - _H / 2), w, _H, boxstyle="round,pad=0.04", fc=color, ec="0.3",
                           zorder=3)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4, linespacing=1.15)
    return patch


def _add(ax, x: float, y: float, text: str = "+"):
    patch = Circle((x, y), 0.28, fc="white", ec="0.3", zorder=3)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=11, zorder=4)
    return patch


def _arrow(ax, start, end, color="0.25") -> None:
    """Straight arrow between two patches (centre to centre, clipped at their borders)."""
    ax.add_patch(FancyArrowPatch(posA=_center(start), posB=_center(end), patchA=start, patchB=end,
                                 arrowstyle="-|>", mutation_scale=10, color=color, lw=1.2, zorder=2))


def _route(ax, points, color="0.25", lw: float = 1.2) -> None:
    """Polyline through ``points`` with an arrow head on its last segment."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, zorder=2, solid_capstyle="butt")
    ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=10, color=color,
                                 lw=lw, shrinkA=0, shrinkB=0, zorder=2))


def _center(patch) -> tuple[float, float]:
    if isinstance(patch, Circle):
        return patch.center
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


def _panel(ax, xlim: tuple[float, float], ylim: tuple[float, float], title: str) -> None:
    ax.set_aspect("equal")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")


# --- panel (a): the cell ------------------------------------------------------------------------------------
_LAYER_DX = 4.6  # one searched layer: branch point, op, add, LReLU
_CELL_Y = (-1.7, 3.8)
_BUS_Y, _DISTILL_Y, _RES_Y = 3.2, 1.9, -1.2


def cell_extent(ops) -> float:
    return 1.3 + len(ops) * _LAYER_DX + 10.6


def draw_cell(ax, ops, width: int) -> None:
    """x -> three searched layers (each with its 1x1 distillation d_i and residual add + LReLU) -> 3x3 tail
    r4 -> concat[d1, d2, d3, r4] -> 1x1 -> ESA -> out."""
    previous = _box(ax, 0.0, 0.0, f"x\n{width} ch", _IN, w=1.2)
    branches = [1.3 + i * _LAYER_DX for i in range(len(ops))]  # where r_0 .. r_2 branch off
    for i, (op, x0) in enumerate(zip(ops, branches, strict=True)):
        previous = _draw_layer(ax, i, op, x0, previous, width)
    ax.text(branches[0] + 0.2, _RES_Y - 0.08, "residual", fontsize=7, color="0.45", va="top")
    _draw_cell_tail(ax, len(ops), branches, previous, width)


def _draw_layer(ax, i: int, op: str, x0: float, previous, width: int):
    """Searched layer i+1 reading r_i (branching at x0): d_{i+1} above, the residual add below; returns its
    LReLU (r_{i+1})."""
    layer = _box(ax, x0 + 1.4, 0.0, f"layer {i + 1}\n{SHORT.get(op, op)}", OP_COLORS.get(op, _CONV), w=1.8)
    _arrow(ax, previous, layer)
    ax.plot([x0], [0.0], "o", color="0.25", ms=3.5, zorder=4)
    add = _add(ax, x0 + 2.75, 0.0)
    _arrow(ax, layer, add)
    act = _box(ax, x0 + 3.65, 0.0, "LReLU", _CONV, w=1.05, fontsize=8)
    _arrow(ax, add, act)
    ax.text(x0 + 4.45, 0.12, f"$r_{i + 1}$", ha="center", va="bottom", fontsize=9)
    _route(ax, [(x0, 0.0), (x0, _RES_Y), (x0 + 2.75, _RES_Y), (x0 + 2.75, -0.28)], color="0.45")
    _box(ax, x0, _DISTILL_Y, f"$d_{i + 1}$: 1x1 {width}→{width // 2}\n+ LReLU", _FUSE, w=2.1, fontsize=8)
    _route(ax, [(x0, 0.0), (x0, _DISTILL_Y - _H / 2 - 0.04)], color="0.45")
    return act


def _draw_cell_tail(ax, layers: int, branches: list[float], previous, width: int) -> None:
    """r_4 = LReLU(3x3(r_3)), then concat[d_1..d_3 (over the bus above), r_4] -> 1x1 -> ESA -> out."""
    half, x = width // 2, branches[-1] + _LAYER_DX + 0.6
    tail = _box(ax, x + 0.9, 0.0, f"$r_4$: conv 3x3\n{width}→{half} + LReLU", _CONV, w=2.2, fontsize=8)
    _arrow(ax, previous, tail)
    concat = _box(ax, x + 3.3, 0.0, f"concat\n{layers + 1}×{half}", _CONV, w=1.5)
    _arrow(ax, tail, concat)
    for x0 in branches:
        ax.plot([x0, x0], [_DISTILL_Y + _H / 2 + 0.04, _BUS_Y], color="0.45", lw=1.2, zorder=2)
    _route(ax, [(branches[0], _BUS_Y), (x + 3.3, _BUS_Y), (x + 3.3, _H / 2 + 0.04)], color="0.45")
    ax.text((branches[-1] + x + 3.3) / 2, _BUS_Y + 0.08, "$d_1, d_2, d_3$", ha="center", va="bottom",
            fontsize=8, color="0.3")
    fuse = _box(ax, x + 5.4, 0.0, f"1x1\n{(layers + 1) * half}→{width}", _FUSE, w=1.6)
    _arrow(ax, concat, fuse)
    esa = _box(ax, x + 7.3, 0.0, "ESA", "#fff2b3", w=1.2)
    _arrow(ax, fuse, esa)
    out = _box(ax, x + 9.1, 0.0, f"out\n{width} ch", _OUT, w=1.3)
    _arrow(ax, esa, out)


# --- panel (b): the network ---------------------------------------------------------------------------------
_CELL_DX, _FUSE_DX = 2.2, 1.95
_HEAD_Y, _HEAD_BUS_Y, _SKIP_Y = -2.7, -1.3, -3.85
_LEVEL0, _LEVEL_DY = 1.0, 0.45


def _network_xs(genotype) -> tuple[dict[int, float], dict[int, float]]:
    """x of each cell B_k and of each fusion node feeding B_k (k >= 3, searched inputs only)."""
    cells, fusions, x = {}, {}, 4.3
    for k in range(1, genotype.cells + 1):
        if genotype.inputs is not None and k >= FIRST_SEARCHED_CELL:
            fusions[k] = x + _FUSE_DX - _CELL_DX
            x = fusions[k] + _FUSE_DX
        cells[k] = x
        x += _CELL_DX
    return cells, fusions


def _levels(edges: list[tuple[int, int]], cells: dict, fusions: dict) -> dict[tuple[int, int], int]:
    """The lowest height per (source, target) route whose horizontal run overlaps no other's at that height."""
    taken: dict[int, list[tuple[float, float]]] = {}
    levels = {}
    for j, k in sorted(edges, key=lambda e: (fusions[e[1]] - cells[e[0]], e)):
        span = (cells[j] - 0.6, fusions[k] + 0.6)
        level = 0
        while any(span[0] < b and a < span[1] for a, b in taken.get(level, [])):
            level += 1
        taken.setdefault(level, []).append(span)
        levels[(j, k)] = level
    return levels


def network_extent(genotype) -> tuple[float, tuple[float, float]]:
    cells, fusions = _network_xs(genotype)
    levels = _levels(_long_edges(genotype), cells, fusions)
    top = _LEVEL0 + _LEVEL_DY * max(levels.values(), default=-1) + 0.6
    return max(cells[genotype.cells] + 1.2, 19.6), (_SKIP_Y - 0.5, max(top, _H / 2 + 0.5))


def _long_edges(genotype) -> list[tuple[int, int]]:
    """Searched inputs that are not the previous cell: routed above the row."""
    if genotype.inputs is None:
        return []
    return [(j, k) for k, chosen in enumerate(genotype.inputs, start=FIRST_SEARCHED_CELL) for j in chosen
            if j != k - 1]


def draw_network(ax, genotype, width: int) -> None:
    """LR -> stem -> B1 -> B2 -> (fusion of the chosen cells ->) B3 .. Bn; head: concat -> 1x1 -> 3x3 -> + stem
    -> upsampler."""
    n = genotype.cells
    cells, fusions = _network_xs(genotype)
    lr = _box(ax, 0.0, 0.0, "LR\nimage", _IN, w=1.2)
    stem = _box(ax, 2.1, 0.0, f"stem\n3x3 3→{width}", _CONV, w=1.7, fontsize=8)
    _arrow(ax, lr, stem)
    boxes = {k: _box(ax, x, 0.0, f"$B_{{{k}}}$", _CELL, w=1.3, fontsize=10) for k, x in cells.items()}
    fuse_boxes = {}
    for k, x in fusions.items():
        m = len(genotype.inputs[k - FIRST_SEARCHED_CELL])
        fuse_boxes[k] = _box(ax, x, 0.0, f"fuse 1x1\n{m * width}→{width}", _FUSE, w=1.45, fontsize=7.5)
        _arrow(ax, fuse_boxes[k], boxes[k])
        if k - 1 in genotype.inputs[k - FIRST_SEARCHED_CELL]:
            _arrow(ax, boxes[k - 1], fuse_boxes[k], color=_edge_color(k))
    _arrow(ax, stem, boxes[1])
    for k in range(2, n + 1):
        if k not in fusions:
            _arrow(ax, boxes[k - 1], boxes[k])
    _draw_long_edges(ax, genotype, cells, fusions)
    _draw_head(ax, genotype, width, cells, stem)


def _edge_color(k: int):
    return plt.get_cmap("tab10").colors[(k - FIRST_SEARCHED_CELL) % 10]


def _draw_long_edges(ax, genotype, cells: dict, fusions: dict) -> None:
    edges = _long_edges(genotype)
    levels = _levels(edges, cells, fusions)
    # Farther targets leave a cell on the left and farther sources enter a fusion on the right: no crossings
    # between two routes of the same cell or the same fusion.
    outgoing = {j: sorted((k for s, k in edges if s == j), reverse=True) for j in cells}
    incoming = {k: sorted((j for j, t in edges if t == k), reverse=True) for k in fusions}
    for j, k in edges:
        y = _LEVEL0 + _LEVEL_DY * levels[(j, k)]
        x0 = cells[j] + _spread(outgoing[j].index(k), len(outgoing[j]), 0.9)
        x1 = fusions[k] + _spread(incoming[k].index(j), len(incoming[k]), 0.8)
        _route(ax, [(x0, _H / 2 + 0.04), (x0, y), (x1, y), (x1, _H / 2 + 0.04)], color=_edge_color(k))


def _spread(i: int, count: int, span: float) -> float:
    return 0.0 if count == 1 else span * (i / (count - 1) - 0.5)


def _draw_head(ax, genotype, width: int, cells: dict, stem) -> None:
    n = genotype.cells
    for x in cells.values():
        ax.plot([x, x], [-_H / 2 - 0.04, _HEAD_BUS_Y], color="0.45", lw=1.2, zorder=2)
    xs = [4.3 + 2.3 * i for i in range(7)]
    ax.plot([min(cells[1], xs[0]), cells[n]], [_HEAD_BUS_Y, _HEAD_BUS_Y], color="0.45", lw=1.2, zorder=2)
    _route(ax, [(xs[0], _HEAD_BUS_Y), (xs[0], _HEAD_Y + _H / 2 + 0.04)], color="0.45")
    ax.text(cells[n], _HEAD_BUS_Y - 0.08, f"all cells $B_1..B_{{{n}}}$", ha="right", va="top", fontsize=8,
            color="0.3")
    concat = _box(ax, xs[0], _HEAD_Y, f"concat\n{n}×{width}", _CONV, w=1.6)
    fuse = _box(ax, xs[1], _HEAD_Y, f"1x1 {n * width}→{width}\n+ LReLU", _FUSE, w=1.95, fontsize=8)
    conv = _box(ax, xs[2], _HEAD_Y, f"conv 3x3\n{width}→{width}", _CONV, w=1.7, fontsize=8)
    add = _add(ax, xs[3] - 0.3, _HEAD_Y)
    up = _box(ax, xs[4] - 0.5, _HEAD_Y, f"conv 3x3\n{width}→3·s²", _CONV, w=1.7, fontsize=8)
    shuffle = _box(ax, xs[5] - 0.3, _HEAD_Y, "PixelShuffle\n(×s)", "#fff2b3", w=1.9, fontsize=8)
    sr = _box(ax, xs[6] - 0.3, _HEAD_Y, "SR\nimage", _OUT, w=1.2)
    for a, b in zip([concat, fuse, conv, add, up, shuffle], [fuse, conv, add, up, shuffle, sr], strict=True):
        _arrow(ax, a, b)
    _route(ax, [(2.1, -_H / 2 - 0.04), (2.1, _SKIP_Y), (xs[3] - 0.3, _SKIP_Y), (xs[3] - 0.3, _HEAD_Y - 0.28)],
           color="0.45")
    ax.text(2.25, _SKIP_Y + 0.08, "stem skip", fontsize=7, color="0.45", va="bottom")
    ax.text((xs[4] + xs[5]) / 2 - 0.4, _HEAD_Y - _H / 2 - 0.12, "upsampler", ha="center", va="top", fontsize=8,
            color="0.3")


def _two_panels(x_range: float, heights: tuple[float, float], title_in: float = 0.55):
    """Two axes stacked at exactly ``_INCH`` inches per data unit (so equal aspect leaves no gaps), with room
    above each for its title and above both for the figure's."""
    width, height = x_range * _INCH, sum(heights) * _INCH + 3 * title_in
    fig = plt.figure(figsize=(width, height))
    bottom_h, top_h = heights[1] * _INCH / height, heights[0] * _INCH / height
    net_ax = fig.add_axes((0.0, 0.0, 1.0, bottom_h))
    cell_ax = fig.add_axes((0.0, bottom_h + title_in / height, 1.0, top_h))
    return fig, (cell_ax, net_ax)


def plot_genotype(genotype, out_path: str | Path, title: str = "", width: int = 48) -> Path:
    """One figure: (a) the cell every B_k uses, (b) the wiring of the cells, the head and the upsampler."""
    net_x, net_y = network_extent(genotype)
    x_max = max(cell_extent(genotype.cell), net_x)
    heights = (_CELL_Y[1] - _CELL_Y[0], net_y[1] - net_y[0])
    fig, (cell_ax, net_ax) = _two_panels(x_max + 0.9, heights)
    ops = ", ".join(SHORT.get(op, op) for op in genotype.cell)
    _panel(cell_ax, (-0.9, x_max), _CELL_Y, f"(a) cell, the same in all {genotype.cells} cells: {ops}")
    wiring = "each cell reads the previous one" if genotype.inputs is None else "searched inputs per cell"
    _panel(net_ax, (-0.9, x_max), net_y,
           f"(b) network: {genotype.cells} cells, {wiring}, width C = {width} channels")
    draw_cell(cell_ax, genotype.cell, width)
    draw_network(net_ax, genotype, width)
    fig.suptitle(title or f"DLSR genotype (C = {width})", fontsize=12)
    return _save(fig, out_path)


# --- architecture weights -----------------------------------------------------------------------------------
def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _as_probabilities(x: np.ndarray) -> np.ndarray:
    """``x`` if each row is a distribution already (what the supernet saves), else its softmax (raw logits)."""
    x = np.asarray(x, dtype=float)
    is_probability = (x >= 0).all() and np.allclose(x.sum(axis=-1), 1.0, atol=1e-3)
    return x if is_probability else _softmax(x)


def _highlight(ax, cells) -> None:
    for i, j in cells:
        ax.add_patch(Rectangle((j - 0.44, i - 0.42), 0.88, 0.84, fill=False, ec="red", lw=2.0, zorder=3))


def plot_alpha(alpha: np.ndarray, out_path: str | Path, title: str = "alpha") -> Path:
    """Layers x ops, the probability in each cell; each layer's argmax (the derived op) framed."""
    weights = _as_probabilities(np.atleast_2d(alpha))
    layers, ops = weights.shape
    fig, ax = plt.subplots(figsize=(0.75 * ops + 2.4, 0.5 * layers + 2.0))
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=max(weights.max(), 1e-9), aspect="auto")
    _annotate(ax, weights)
    _highlight(ax, [(i, int(j)) for i, j in enumerate(weights.argmax(-1))])
    ax.set_xticks(range(ops), [SHORT.get(p, p) for p in PRIMITIVES[:ops]], rotation=40, ha="right")
    ax.set_yticks(range(layers), [f"layer {i + 1}" for i in range(layers)])
    ax.set_xlabel("operation (framed: derived)")
    fig.colorbar(image, ax=ax, shrink=0.9, label="softmax weight")
    ax.set_title(title)
    return _save(fig, out_path)


def plot_betas(betas: dict[int, np.ndarray], out_path: str | Path, title: str = "beta") -> Path:
    """Rows B_k (k >= 3), columns the earlier cells B_1..B_{n-1}; cells a row cannot read masked, each
    row's top 2 (the derived inputs) framed."""
    last = max(betas)
    rows = list(range(FIRST_SEARCHED_CELL, last + 1))
    grid = np.full((len(rows), last - 1), np.nan)
    for r, k in enumerate(rows):
        if k in betas:
            values = _as_probabilities(np.ravel(betas[k]))[: k - 1]
            grid[r, : len(values)] = values
    cmap = plt.get_cmap("magma").with_extremes(bad="0.93")  # masked: cells a row cannot read
    fig, ax = plt.subplots(figsize=(0.75 * (last - 1) + 2.6, 0.5 * len(rows) + 2.0))
    image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    _annotate(ax, grid)
    top = [(r, int(j)) for r, row in enumerate(grid) if not np.isnan(row).all()
           for j in np.argsort(-np.nan_to_num(row, nan=-1.0))[: min(2, int((~np.isnan(row)).sum()))]]
    _highlight(ax, top)
    ax.set_xticks(range(last - 1), [f"$B_{{{j}}}$" for j in range(1, last)])
    ax.set_yticks(range(len(rows)), [f"$B_{{{k}}}$" for k in rows])
    ax.set_xlabel("input from cell (framed: derived top 2)")
    ax.set_ylabel("cell")
    fig.colorbar(image, ax=ax, shrink=0.9, label="softmax weight")
    ax.set_title(title)
    return _save(fig, out_path)


def beta_cells(weights: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
    """The saved betas by cell: ``beta_B3`` .. ``beta_Bn`` -> {3: ..., n: ...}."""
    return {int(name.removeprefix("beta_B")): values for name, values in weights.items()
            if name.startswith("beta_B") and name.removeprefix("beta_B").isdigit()}


@PICTURES.register
class DLSRPictures(SpacePictures):
    name = "dlsr"

    def architecture(self, genotype, out_path: Path, title: str, width: int) -> Path:
        return plot_genotype(genotype, out_path, title=title, width=width)

    def arch_weights(self, weights: dict[str, np.ndarray], out_dir: Path, title: str) -> list[Path]:
        out_dir = Path(out_dir)
        written = []
        if "alpha" in weights:
            written.append(plot_alpha(weights["alpha"], out_dir / "alpha.png", title=f"alpha ({title})"))
        if betas := beta_cells(weights):
            written.append(plot_betas(betas, out_dir / "beta.png", title=f"beta ({title})"))
        return written
