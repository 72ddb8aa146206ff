"""A summary frame (``analysis.tables``) as Markdown, LaTeX (booktabs), CSV or Parquet.

Text cells read 'mean ± std', the std as precise as its mean (PSNR to 2 decimals, SSIM to 4); one seed
gives the mean alone, no seed an en dash. A row with fewer seeds than expected carries a dagger. A cell whose
row differs from the row it is compared with (Welch p < 0.05, ``analysis.significance``) ends in '*' (p < 0.01:
'**'; a superscript in LaTeX); the caption names the pairs. In LaTeX the best mean of each column is bold
(highest for PSNR/SSIM, lowest for params, time and memory), only where it beats the runner-up beyond seed
noise (``<c>_best``). Rows compared with a random-architecture row get RI columns (``<c>_ri_mean``, % over
random). CSV and Parquet carry the p-values (``<c>_p``).
A PSNR/SSIM cell of a row below the degraded input's reference row ends in '↓' (``<c>_below_input``); the caption
then names that row.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.significance import marker
from analysis.tables import (
    EXTRA_LABELS,
    TableLayout,
    caption,
    condition_label,
    improvement_columns,
    row_name,
    value_columns,
)
from trials import metric_names as mn

DAGGER = "†"
BELOW_INPUT = "↓"
EMPTY = "–"
BOLD_NOTE = (" Bold: the best mean of a column, only where it differs from the runner-up beyond seed noise (Welch "
             "p < 0.05).")
_DECIMALS = {"psnr": (2, 2), "ssim": (4, 4), mn.PEAK_MEMORY_MB: (0, 0), mn.SEARCH_DEVICE_HOURS: (4, 4),
             mn.RETRAIN_DEVICE_HOURS: (4, 4)}  # (mean, std): a std as precise as its mean


def _decimals(column: str) -> tuple[int, int]:
    return _DECIMALS.get(column.split("_", 1)[0], _DECIMALS.get(column, (2, 2)))


def _cell(mean: float, std: float, decimals: tuple[int, int], bold=lambda s: s, pm: str = " ± ") -> str:
    if pd.isna(mean):
        return EMPTY
    text = bold(f"{mean:.{decimals[0]}f}")
    return text if pd.isna(std) else f"{text}{pm}{std:.{decimals[1]}f}"


def _params(row: pd.Series) -> str:
    if pd.isna(row["params_min"]):
        return EMPTY
    low, high = f"{row['params_min']:.2f}", f"{row['params_max']:.2f}"
    return low if low == high else f"{low}-{high}"


def _improvement(row: pd.Series, column: str, pm: str) -> str:
    mean, std = row[f"{column}_ri_mean"], row[f"{column}_ri_std"]
    if pd.isna(mean):
        return EMPTY
    return f"{mean:+.2f}" if pd.isna(std) else f"{mean:+.2f}{pm}{std:.2f}"


def value_headers(layout: TableLayout) -> dict[str, str]:
    """Value column -> its header, e.g. 'psnr_sigma30' -> 'σ=30 PSNR', in display order."""
    per_condition = {f"{m}_{c}": f"{condition_label(layout, c)} {m.upper()}"
                     for c in layout.conditions for m in layout.metrics}
    return per_condition | {e: EXTRA_LABELS.get(e, e) for e in layout.extras}


def improvement_headers(summary: pd.DataFrame, layout: TableLayout) -> list[str]:
    """'RI σ=30 (%)' per PSNR column with an improvement over random (none without a random row)."""
    return [f"RI {condition_label(layout, c.removeprefix('psnr_'))} (%)" for c in improvement_columns(summary)]


def headers(layout: TableLayout, summary: pd.DataFrame) -> list[str]:
    """Flat column names of the text table (``text_rows``), its RI columns included."""
    return ["Method", *layout.mark_columns, "n", "Params (M)", *value_headers(layout).values(),
            *improvement_headers(summary, layout)]


def text_rows(summary: pd.DataFrame, layout: TableLayout, bold=None, pm: str = " ± ",
              sup=lambda mark: mark, below: str = f" {BELOW_INPUT}") -> list[list[str]]:
    """The cells of every row as strings, then its RI cells; ``bold`` wraps a best mean that beats the runner-up
    beyond seed noise (``<c>_best``, LaTeX), ``pm`` joins mean and std, ``sup`` wraps a significance marker,
    ``below`` ends a cell below the degraded input."""
    columns, improved = value_columns(layout), improvement_columns(summary)
    plain = lambda s: s  # noqa: E731
    rows = []
    for _, row in summary.iterrows():
        label = row["label"] + ("" if row["complete"] else DAGGER)
        cells = [label, *(row[m] for m in layout.mark_columns), str(row["n"]), _params(row)]
        for c in columns:
            wrap = bold if bold and row.get(f"{c}_best", False) else plain
            cell = _cell(row[f"{c}_mean"], row[f"{c}_std"], _decimals(c), wrap, pm)
            mark = marker(row.get(f"{c}_p", np.nan))
            cell = cell + sup(mark) if mark else cell
            cells.append(cell + below if row.get(f"{c}_below_input", False) else cell)
        rows.append(cells + [_improvement(row, c, pm) for c in improved])
    return rows


# --- Markdown -----------------------------------------------------------------------------------------------
def to_markdown(summary: pd.DataFrame, layout: TableLayout, expected_seeds: int = 3) -> str:
    table = pipe_table(headers(layout, summary), text_rows(summary, layout))
    return f"**{caption(layout, expected_seeds, summary)}**\n\n{table}"


def pipe_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)]) + "\n"


def frame_to_markdown(frame: pd.DataFrame, floats: str = "{:.4f}") -> str:
    """Any small frame (e.g. the paper comparison) as a pipe table."""
    as_text = lambda v: EMPTY if pd.isna(v) else floats.format(v) if isinstance(v, float) else str(v)  # noqa: E731
    return pipe_table(list(frame.columns), [[as_text(v) for v in r] for r in frame.itertuples(index=False)])


def comparison_wide(comparison: pd.DataFrame, layout: TableLayout, metric: str) -> pd.DataFrame:
    """One metric of ``paper.compare_with_paper``'s long frame as rows x conditions of text cells
    'ours / paper / diff' (an en dash where a side is missing)."""
    cells = comparison[comparison["metric"] == metric].set_index(["setting", "condition"])
    wide = {"Method": [row_name(row, layout) for row in layout.rows]}
    for condition in layout.conditions:
        wide[condition_label(layout, condition)] = [_ours_paper_diff(cells, (row.setting, condition), metric)
                                                    for row in layout.rows]
    return pd.DataFrame(wide)


def _ours_paper_diff(cells: pd.DataFrame, key: tuple[str, str], metric: str) -> str:
    found = cells.loc[key] if key in cells.index else pd.Series(dtype=float)
    decimals = _decimals(metric)[0]
    number = lambda v, sign="": EMPTY if pd.isna(v) else f"{v:{sign}.{decimals}f}"  # noqa: E731
    return " / ".join([number(found.get("ours_mean")), number(found.get("paper_mean")),
                       number(found.get("diff"), "+")])


# --- LaTeX --------------------------------------------------------------------------------------------------
_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
_TEX_SYMBOLS = {"<": "$<$", "λ": r"$\lambda$", "σ": r"$\sigma$", "×": r"$\times$", "±": r"$\pm$",
                DAGGER: r"$^\dagger$", BELOW_INPUT: r"$\downarrow$", EMPTY: "--"}


def tex_escape(text: str) -> str:
    escaped = "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))
    return "".join(_TEX_SYMBOLS.get(ch, ch) for ch in escaped)


def _tex_value(cell: str) -> str:
    return "--" if cell == EMPTY else f"${cell}$"


def to_latex(summary: pd.DataFrame, layout: TableLayout, expected_seeds: int = 3) -> str:
    """A booktabs table: grouped condition headers over PSNR/SSIM, ``$m \\pm s$`` cells, best mean bold."""
    lead = 1 + len(layout.mark_columns) + 2
    metrics = len(layout.metrics)
    ri = improvement_headers(summary, layout)
    spec = "l" + "c" * (lead - 1 + metrics * len(layout.conditions) + len(layout.extras) + len(ri))
    top = ["Method", *layout.mark_columns, "n", "Params"]
    top += [rf"\multicolumn{{{metrics}}}{{c}}{{{tex_escape(condition_label(layout, c))}}}" for c in layout.conditions]
    top += [EXTRA_LABELS.get(e, e) for e in layout.extras] + ri
    rules = [rf"\cmidrule(lr){{{lead + 1 + i * metrics}-{lead + (i + 1) * metrics}}}"
             for i in range(len(layout.conditions))]
    sub = [""] * (lead - 1) + ["(M)"] + [m.upper() for _ in layout.conditions for m in layout.metrics]
    sub += [""] * (len(layout.extras) + len(ri))
    best_params = summary.get("params_best", pd.Series(False, index=summary.index)).to_numpy(dtype=bool)
    body = []
    cells_of = text_rows(summary, layout, bold=lambda s: rf"\mathbf{{{s}}}", pm=r" \pm ", sup=lambda m: f"^{{{m}}}",
                         below=r"\,\downarrow")
    for i, cells in enumerate(cells_of):
        head, params, values = cells[:lead - 1], cells[lead - 1], cells[lead:]
        params = "--" if params == EMPTY else params.replace("-", "--")
        params = rf"\textbf{{{params}}}" if best_params[i] else params
        body.append(" & ".join([*map(tex_escape, head), params, *map(_tex_value, values)]) + r" \\")
    top_line = " & ".join(t if t.startswith("\\multicolumn") else tex_escape(t) for t in top) + r" \\"
    legend = tex_escape(caption(layout, expected_seeds, summary) + BOLD_NOTE)
    return "\n".join([
        r"\begin{table}[t]", r"\centering", rf"\caption{{{legend}}}",
        rf"\label{{tab:{layout.table_id.replace('_', '-')}}}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
        top_line, " ".join(rules), " & ".join(map(tex_escape, sub)) + r" \\", r"\midrule",
        *body, r"\bottomrule", r"\end{tabular}", r"\end{table}", "",
    ])


def frame_to_latex(frame: pd.DataFrame, floats: str = "{:.4f}") -> str:
    """Any small frame as a booktabs tabular (no bold): for the paper comparison."""
    as_text = lambda v: "--" if pd.isna(v) else floats.format(v) if isinstance(v, float) else tex_escape(v)  # noqa: E731
    rows = [" & ".join(as_text(v) for v in r) + r" \\" for r in frame.itertuples(index=False)]
    return "\n".join([rf"\begin{{tabular}}{{{'l' * len(frame.columns)}}}", r"\toprule",
                      " & ".join(tex_escape(c) for c in frame.columns) + r" \\", r"\midrule", *rows,
                      r"\bottomrule", r"\end{tabular}", ""])


# --- files --------------------------------------------------------------------------------------------------
def write_csv(summary: pd.DataFrame, path: str | Path) -> Path:
    """Full-precision numbers, so ``pandas.read_csv`` gives back the same values."""
    summary.to_csv(path, index=False)
    return Path(path)


def write_parquet(summary: pd.DataFrame, path: str | Path) -> Path:
    summary.to_parquet(path, index=False)
    return Path(path)
