"""AutoDerain's pictures: the derived U of RSEBs, and a_conv / a_se heat maps.

The U is drawn directly (no graphviz), in data units at one scale: the encoder stages are columns that step
down to the right (each block of a stage below the previous one), the bottleneck is a row at the bottom and
the decoder stages are columns that climb back up on the right. Each block is a box split into its two convs
(slot a left, slot b right, coloured by op) over a strip that says whether its SE gate is on. The down / up
transitions and the skip fusions (concat + 1x1, or add) are boxes on the arrows; the skips run level across
the U from the last block of each encoder stage to the fusion in front of its decoder stage.

The heat maps label their rows by block (``E0.1`` = the first block of stage E0) and slot (``a``, ``b``, or
``a=b`` when one choice is shared per block). ``arch_weights.npz`` carries neither the op names nor the U's
shape, so ``AutoDerainPictures.arch_weights`` reads them from the run's ``config.json`` next to it when that
is there; otherwise the columns are ``OPS`` when there are ``len(OPS)`` of them (the default ``space.ops``)
and ``op0, op1, ..`` for any other count, and (levels, N) is the split of the block count whose levels are
closest to the default 3 (ties: the deeper U).
"""

import json
import re
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from analysis.pictures.base import PICTURES, SpacePictures
from analysis.plots import _save, plt

# Kept here rather than imported from search_space so that plotting does not import torch; a test checks them
# against search_space.autoderain.OPS and stage_names.
OPS = ("conv_3x3", "conv_5x5", "dil_conv_3x3", "sep_conv_3x3", "sep_conv_5x5")
SHORT = {"conv_3x3": "3x3", "conv_5x5": "5x5", "dil_conv_3x3": "dil3", "sep_conv_3x3": "sep3",
         "sep_conv_5x5": "sep5"}
LONG = {"conv_3x3": "conv 3x3", "conv_5x5": "conv 5x5", "dil_conv_3x3": "dil 3x3 (dw, d=2) + 1x1",
        "sep_conv_3x3": "sep 3x3 (dw) + 1x1", "sep_conv_5x5": "sep 5x5 (dw) + 1x1"}
OP_COLORS = {"conv_3x3": "#a6cee3", "conv_5x5": "#b2df8a", "dil_conv_3x3": "#fb9a99", "sep_conv_3x3": "#fdbf6f",
             "sep_conv_5x5": "#cab2d6"}
SE_ON, SE_OFF = "#3b3b3b", "white"
SKIP_COLOR, PATH_COLOR = "#7b3294", "0.25"
_IO, _TRANSITION, _FUSE = "#dbe9f6", "#eeeeee", "#f3e0f7"
_INCH = 0.42  # inches per data unit
_P = 1.5  # vertical pitch of the items of a column
_CP, _MP = 4.0, 3.4  # pitch of the columns, of the bottleneck's blocks
_BW, _BH, _SE_H = 2.6, 1.0, 0.34  # block box, its SE strip
_TW, _TH = 2.5, 0.8  # transition boxes (head, tail, down, up, concat fusion)


def stage_names(levels: int) -> list[str]:
    """E0.. E{L-2}, M, D{L-2}.. D0: the U's stages in the order their blocks run (as the genotype's)."""
    return [f"E{i}" for i in range(levels - 1)] + ["M"] + [f"D{i}" for i in reversed(range(levels - 1))]


def block_names(levels: int, per_stage: int) -> list[str]:
    """``E0.1``, ``E0.2``, .. ``D0.N``: each block by its stage and its place in the stage (from 1)."""
    return [f"{stage}.{j + 1}" for stage in stage_names(levels) for j in range(per_stage)]


# --- the architecture ---------------------------------------------------------------------------------------
class _Item:
    """A drawn box or circle: its centre and half extents, for arrows that end on its border."""

    def __init__(self, x: float, y: float, hw: float, hh: float):
        self.x, self.y, self.hw, self.hh = x, y, hw, hh

    def top(self):
        return (self.x, self.y + self.hh)

    def bottom(self):
        return (self.x, self.y - self.hh)

    def left(self):
        return (self.x - self.hw, self.y)

    def right(self):
        return (self.x + self.hw, self.y)


def _arrow(ax, start, end, color=PATH_COLOR, lw: float = 1.3) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color=color, lw=lw,
                                 shrinkA=0, shrinkB=0, zorder=2))


def _route(ax, points, color=PATH_COLOR, lw: float = 1.3) -> None:
    """Polyline through ``points`` with an arrow head on its last segment."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, zorder=2, solid_capstyle="butt")
    _arrow(ax, points[-2], points[-1], color, lw)


def _box(ax, x: float, y: float, text: str, color: str, w: float = _TW, h: float = _TH,
         fontsize: float = 7.5) -> _Item:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04", fc=color, ec="0.3",
                                zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4, linespacing=1.1)
    return _Item(x, y, w / 2 + 0.04, h / 2 + 0.04)


def _circle(ax, x: float, y: float, text: str, r: float = 0.3) -> _Item:
    ax.add_patch(Circle((x, y), r, fc="white", ec="0.3", zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=11, zorder=4)
    return _Item(x, y, r, r)


def _block(ax, x: float, y: float, block, name: str) -> _Item:
    """Slot a | slot b on top, coloured by op; the SE strip below (dark: SE on); the block's name above."""
    left, bottom, conv_h = x - _BW / 2, y - _BH / 2, _BH - _SE_H
    for i, op in enumerate((block.a, block.b)):
        x0 = left + i * _BW / 2
        ax.add_patch(Rectangle((x0, bottom + _SE_H), _BW / 2, conv_h, fc=OP_COLORS.get(op, "white"), ec="none",
                               zorder=3))
        ax.text(x0 + _BW / 4, bottom + _SE_H + conv_h / 2, SHORT.get(op, op), ha="center", va="center",
                fontsize=8.5, zorder=4)
    ax.add_patch(Rectangle((left, bottom), _BW, _SE_H, fc=SE_ON if block.se else SE_OFF, ec="none", zorder=3))
    ax.text(x, bottom + _SE_H / 2, "SE" if block.se else "no SE", ha="center", va="center", zorder=4,
            fontsize=7 if block.se else 6.5, color="white" if block.se else "0.55",
            fontweight="bold" if block.se else "normal")
    ax.plot([x, x], [bottom + _SE_H, y + _BH / 2], color="0.3", lw=0.6, zorder=4)
    ax.plot([left, left + _BW], [bottom + _SE_H] * 2, color="0.3", lw=0.6, zorder=4)
    ax.add_patch(Rectangle((left, bottom), _BW, _BH, fill=False, ec="0.2", lw=1.0, zorder=5))
    ax.text(left, y + _BH / 2 + 0.04, name, ha="left", va="bottom", fontsize=7, color="0.35")
    return _Item(x, y, _BW / 2, _BH / 2)


def _column_xs(levels: int, per_stage: int) -> tuple[list[float], list[float], list[float]]:
    """x of the encoder columns E0.., of the bottleneck's blocks, of the decoder columns (index = level)."""
    encoder = [level * _CP for level in range(levels - 1)]
    bottleneck = [encoder[-1] + _CP + k * _MP for k in range(per_stage)]
    decoder = [bottleneck[-1] + _CP + (levels - 2 - level) * _CP for level in range(levels - 1)]
    return encoder, bottleneck, decoder


def _level_y(level: int, per_stage: int) -> float:
    """y of level ``level``'s down and up boxes; the next level's first block is at the same height."""
    return -level * (per_stage + 1) * _P


def block_positions(levels: int, per_stage: int) -> list[tuple[float, float]]:
    """The centre of every block, in the genotype's order: encoder columns top down, the bottleneck row left
    to right, decoder columns bottom up."""
    encoder, bottleneck, decoder = _column_xs(levels, per_stage)
    out = []
    for level in range(levels - 1):
        out += [(encoder[level], _level_y(level, per_stage) + (per_stage + 1 - j) * _P) for j in range(per_stage)]
    out += [(x, _level_y(levels - 2, per_stage)) for x in bottleneck]
    for level in reversed(range(levels - 1)):
        out += [(decoder[level], _level_y(level, per_stage) + (2 + j) * _P) for j in range(per_stage)]
    return out


def extent(levels: int, per_stage: int) -> tuple[tuple[float, float], tuple[float, float]]:
    decoder = _column_xs(levels, per_stage)[2]
    bottom = _level_y(levels - 2, per_stage) - _TH / 2 - 0.9
    return (-_BW / 2 - 0.4, decoder[0] + 4.2), (bottom, (per_stage + 3) * _P + 0.9)


def draw_architecture(ax, genotype, width: int) -> None:
    """The whole U on ``ax``: input, head, stages, transitions, skips, tail and the global residual."""
    levels, n = genotype.levels, genotype.per_stage
    names = block_names(levels, n)
    boxes = [_block(ax, x, y, block, name) for (x, y), block, name in
             zip(block_positions(levels, n), genotype.blocks, names, strict=True)]
    stages = [boxes[i * n:(i + 1) * n] for i in range(2 * levels - 1)]
    encoder_x, _, decoder_x = _column_xs(levels, n)
    for level in range(levels - 1):
        _draw_encoder_level(ax, genotype, level, stages, encoder_x[level], decoder_x[level], width)
    _draw_bottleneck(ax, stages[levels - 1], levels, width)
    for level in range(levels - 1):
        _draw_decoder_level(ax, genotype, level, stages, decoder_x[level], width)
    _draw_ends(ax, stages[0][0], stages[-1][-1], n, width)


def _chain(ax, items, along: str) -> None:
    for a, b in zip(items, items[1:], strict=False):
        start, end = {"down": (a.bottom(), b.top()), "up": (a.top(), b.bottom()),
                      "right": (a.right(), b.left())}[along]
        _arrow(ax, start, end)


def _channels(ax, block: _Item, channels: int) -> None:
    """The stage's width at the top right of its topmost block (its name is at the top left)."""
    ax.text(block.x + _BW / 2, block.y + _BH / 2 + 0.04, f"{channels} ch", ha="right", va="bottom", fontsize=7.5,
            color="0.2", fontweight="bold")


def _draw_encoder_level(ax, genotype, level: int, stages, x: float, fuse_x: float, width: int) -> None:
    """E_l's blocks top down, the skip branching off after its last block, down (3x3 stride 2) into the next
    stage, the skip's route level across the U into D_l's fusion."""
    c, y0 = width * 2**level, _level_y(level, genotype.per_stage)
    blocks, following = stages[level], stages[level + 1]
    _chain(ax, blocks, "down")
    down = _box(ax, x, y0, f"down: 3x3 /2\n{c}→{2 * c}", _TRANSITION)
    junction = (x, y0 + _P)
    ax.plot([x, x], [blocks[-1].bottom()[1], junction[1]], color=PATH_COLOR, lw=1.3, zorder=2)
    ax.plot(*junction, "o", color=SKIP_COLOR, ms=4, zorder=4)
    _arrow(ax, junction, down.top())
    _arrow(ax, down.right(), following[0].left())
    fuse_left = fuse_x - (_TW / 2 + 0.04 if genotype.skip == "concat" else 0.3)
    _route(ax, [junction, (fuse_left, junction[1])], color=SKIP_COLOR, lw=1.5)
    ax.text((x + fuse_x) / 2, junction[1] + 0.08, f"skip E{level} → D{level} ({genotype.skip})", ha="center",
            va="bottom", fontsize=7.5, color=SKIP_COLOR)
    _channels(ax, blocks[0], c)


def _draw_bottleneck(ax, blocks, levels: int, width: int) -> None:
    _chain(ax, blocks, "right")
    x, channels = (blocks[0].x + blocks[-1].x) / 2, width * 2 ** (levels - 1)
    ax.text(x, blocks[0].bottom()[1] - 0.12, f"bottleneck M: {channels} ch", ha="center", va="top", fontsize=8,
            color="0.2")


def _draw_decoder_level(ax, genotype, level: int, stages, x: float, width: int) -> None:
    """Bilinear x2 + 1x1 halving the width, the fusion with E_l's skip, then D_l's blocks bottom up."""
    c, y0 = width * 2**level, _level_y(level, genotype.per_stage)
    stage = 2 * genotype.levels - 2 - level
    blocks, previous = stages[stage], stages[stage - 1]
    up = _box(ax, x, y0, f"up: x2 + 1x1\n{2 * c}→{c}", _TRANSITION)
    _arrow(ax, previous[-1].right(), up.left())
    if genotype.skip == "concat":
        fuse = _box(ax, x, y0 + _P, f"concat + 1x1\n{2 * c}→{c}", _FUSE)
    else:
        fuse = _circle(ax, x, y0 + _P, "+")
    _chain(ax, [up, fuse, *blocks], "up")
    _channels(ax, blocks[-1], c)


def _draw_ends(ax, first, last, per_stage: int, width: int) -> None:
    """input -> head above E0; tail above D0, then output = input - tail(.) (the net predicts the rain)."""
    top = (per_stage + 3) * _P
    source = _box(ax, first.x, top, "input", _IO, w=1.6)
    head = _box(ax, first.x, (per_stage + 2) * _P, f"head: 3x3\n→ {width}", _TRANSITION)
    _chain(ax, [source, head, first], "down")
    tail = _box(ax, last.x, (per_stage + 2) * _P, f"tail: 3x3\n{width} →", _TRANSITION)
    minus = _circle(ax, last.x, top, "−")
    out = _box(ax, last.x + 2.3, top, "output", _IO, w=1.6)
    _chain(ax, [last, tail, minus], "up")
    _arrow(ax, minus.right(), out.left())
    _arrow(ax, source.right(), minus.left(), color="0.5")
    ax.text((source.right()[0] + minus.left()[0]) / 2, top + 0.08, "output = input − tail (the predicted rain)",
            ha="center", va="bottom", fontsize=7.5, color="0.4")


def _legend(fig, columns: int) -> None:
    handles = [Patch(fc=OP_COLORS[op], ec="0.3", label=f"{SHORT[op]}: {LONG[op]}") for op in OPS]
    handles += [Patch(fc=SE_ON, ec="0.3", label="SE gate on"), Patch(fc=SE_OFF, ec="0.3", label="no SE"),
                Line2D([], [], color=PATH_COLOR, lw=1.3, label="main path"),
                Line2D([], [], color=SKIP_COLOR, lw=1.5, label="skip connection")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=columns, fontsize=8,
               frameon=False, title="block: slot a | slot b, SE strip below", title_fontsize=8.5)


def plot_genotype(genotype, out_path: str | Path, title: str = "", width: int = 32) -> Path:
    """One figure of the derived U at base width ``width`` (level l has width * 2^l channels)."""
    (x0, x1), (y0, y1) = extent(genotype.levels, genotype.per_stage)
    fig = plt.figure(figsize=((x1 - x0) * _INCH, (y1 - y0) * _INCH))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_aspect("equal")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.axis("off")
    draw_architecture(ax, genotype, width)
    _legend(fig, 5 if x1 - x0 > 24 else 3)
    se_on = sum(block.se for block in genotype.blocks)
    details = (f"AutoDerain U{genotype.levels}-N{genotype.per_stage}, C = {width}, skip {genotype.skip}, "
               f"SE r = {genotype.se_reduction}: SE on in {se_on}/{len(genotype.blocks)} blocks")
    fig.suptitle(f"{title}\n{details}" if title else details, fontsize=11, y=1.0, va="bottom")
    return _save(fig, out_path)


# --- architecture weights -----------------------------------------------------------------------------------
RAW, PROBABILITY = "raw", "probability"
COLORBAR_LABEL = {RAW: "raw value a in [0, 1] (MDARTS)", PROBABILITY: "softmax probability (DARTS)"}


def value_kind(*arrays: np.ndarray) -> str:
    """``probability`` if every row (last axis) of every array is a distribution, else ``raw``: one relaxation
    saved them all, so one raw row makes all of them raw values."""
    for x in arrays:
        x = np.asarray(x, dtype=float)
        if not ((x >= 0).all() and np.allclose(x.sum(axis=-1), 1.0, atol=1e-4)):
            return RAW
    return PROBABILITY


def kind_from_title(title: str) -> str | None:
    """A ``values`` hint in a title: "raw" or "probabilit(y|ies)" / "softmax"; None when it names neither."""
    text = title.lower()
    if re.search(r"\braw\b", text):
        return RAW
    return PROBABILITY if re.search(r"\b(probabilit|softmax)", text) else None


def conv_matrix(a_conv: np.ndarray) -> np.ndarray:
    """(blocks, slots, ops) -> (blocks * slots, ops), rows block by block, slot a before b; (blocks, ops) is
    one slot per block."""
    a_conv = np.asarray(a_conv, dtype=float)
    return a_conv.reshape(-1, a_conv.shape[-1])


def derived_cells(matrix: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) of each row's derived choice: the argmax, the first one on ties, as ``derive`` takes
    it. On a_se (off, on) that is "on iff a_se[b, 1] > a_se[b, 0]"."""
    return [(i, int(j)) for i, j in enumerate(np.argmax(np.atleast_2d(matrix), axis=-1))]


def infer_layout(blocks: int) -> tuple[int, int]:
    """(levels, N) with (2 levels - 1) N = ``blocks``: levels closest to the default 3, ties to the deeper U."""
    splits = [(levels, blocks // (2 * levels - 1)) for levels in range(2, (blocks + 1) // 2 + 1)
              if blocks % (2 * levels - 1) == 0]
    if not splits:
        raise ValueError(f"{blocks} blocks is no AutoDerain U ((2 levels - 1) x N with levels >= 2)")
    return min(splits, key=lambda s: (abs(s[0] - 3), -s[0]))


def op_labels(count: int, ops=None) -> list[str]:
    """Column labels: the given ops (the run's ``space.ops``), else OPS when there are as many, else op0.."""
    names = ops if ops is not None and len(ops) == count else OPS if count == len(OPS) else None
    return [f"op{j}" for j in range(count)] if names is None else [SHORT.get(op, op) for op in names]


def conv_row_labels(levels: int, per_stage: int, slots: int) -> list[str]:
    slot_names = ("a", "b") if slots == 2 else ("a=b",)
    return [f"{name} {slot}" for name in block_names(levels, per_stage) for slot in slot_names]


def heat_map(ax, matrix: np.ndarray, row_labels: list[str], column_labels: list[str], group: int,
             digits: int):
    """The values (0..1), annotated, with every row's derived cell framed and a line between stages (every
    ``group`` rows); returns the image and the framed cells."""
    image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, f"{v:.{digits}f}", ha="center", va="center", fontsize=7, color="white" if v < 0.5 else "k")
    cells = derived_cells(matrix)
    for i, j in cells:
        ax.add_patch(Rectangle((j - 0.45, i - 0.42), 0.9, 0.84, fill=False, ec="red", lw=2.0, zorder=3))
    for boundary in range(group, len(matrix), group):
        ax.axhline(boundary - 0.5, color="white", lw=2.5)
    ax.set_xticks(range(len(column_labels)), column_labels)
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    ax.tick_params(length=0)
    return image, cells


def _heat_map_figure(matrix, row_labels, column_labels, group, kind, xlabel, title, out_path) -> Path:
    rows, columns = matrix.shape
    fig, ax = plt.subplots(figsize=(0.85 * columns + 3.0, 0.3 * rows + 1.8))
    image, _ = heat_map(ax, matrix, row_labels, column_labels, group, 3 if kind == RAW else 2)
    ax.set_xlabel(xlabel)
    fig.colorbar(image, ax=ax, shrink=0.9, label=COLORBAR_LABEL[kind])
    ax.set_title(title)
    return _save(fig, out_path)


def plot_a_conv(a_conv: np.ndarray, out_path: str | Path, title: str = "a_conv", ops=None,
                layout: tuple[int, int] | None = None, values: str | None = None) -> Path:
    """One row per (block, slot), one column per op; each row's argmax (the derived op) framed."""
    a_conv = np.asarray(a_conv, dtype=float)
    slots = a_conv.shape[1] if a_conv.ndim == 3 else 1
    levels, per_stage = layout or infer_layout(a_conv.shape[0])
    matrix = conv_matrix(a_conv)
    return _heat_map_figure(matrix, conv_row_labels(levels, per_stage, slots), op_labels(matrix.shape[1], ops),
                            per_stage * slots, values or value_kind(a_conv), "op (framed: derived)", title,
                            out_path)


def plot_a_se(a_se: np.ndarray, out_path: str | Path, title: str = "a_se", layout: tuple[int, int] | None = None,
              values: str | None = None) -> Path:
    """One row per block, columns SE off / on; the derived side framed."""
    a_se = np.atleast_2d(np.asarray(a_se, dtype=float))
    levels, per_stage = layout or infer_layout(a_se.shape[0])
    return _heat_map_figure(a_se, block_names(levels, per_stage), ["SE off", "SE on"], per_stage,
                            values or value_kind(a_se), "SE gate (framed: derived)", title, out_path)


def run_space_config(out_dir: Path) -> dict:
    """The ``space`` section of the run's config.json beside the weights, when it is an autoderain one."""
    path = Path(out_dir) / "config.json"
    try:
        space = json.loads(path.read_text()).get("space", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return space if isinstance(space, dict) and space.get("name") == "autoderain" else {}


def weights_layout(weights: dict[str, np.ndarray], space: dict) -> tuple[tuple[int, int], list[str] | None]:
    """(levels, N) and the op names: the run config's when they fit the arrays, else inferred."""
    blocks = len(next(iter(weights.values())))
    levels, per_stage = space.get("levels"), space.get("per_stage")
    layout = (int(levels), int(per_stage)) if isinstance(levels, int) and isinstance(per_stage, int) \
        and (2 * levels - 1) * per_stage == blocks else infer_layout(blocks)
    ops = space.get("ops")
    return layout, list(ops) if isinstance(ops, list | tuple) else None


@PICTURES.register
class AutoDerainPictures(SpacePictures):
    name = "autoderain"

    def architecture(self, genotype, out_path: Path, title: str, width: int) -> Path:
        return plot_genotype(genotype, out_path, title=title, width=width)

    def arch_weights(self, weights: dict[str, np.ndarray], out_dir: Path, title: str) -> list[Path]:
        out_dir = Path(out_dir)
        saved = {name: np.asarray(weights[name]) for name in ("a_conv", "a_se") if name in weights}
        if not saved:
            return []
        layout, ops = weights_layout(saved, run_space_config(out_dir))
        kind = kind_from_title(title) or value_kind(*saved.values())
        written = []
        if "a_conv" in saved:
            written.append(plot_a_conv(saved["a_conv"], out_dir / "a_conv.png", f"a_conv ({title})", ops, layout,
                                       kind))
        if "a_se" in saved:
            written.append(plot_a_se(saved["a_se"], out_dir / "a_se.png", f"a_se ({title})", layout, kind))
        return written
