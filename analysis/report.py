"""A report folder: the table in every format, the paper comparison, pictures, report.md and report.html.

The report is one outline of blocks (``_outline``), written twice: as Markdown and as HTML. From the top:
a smoke banner (when the preset is 'smoke'), the provenance given by the caller (command, preset, commit,
date, invocation: whatever keys, in their order), the table, the seed-noise tests (``analysis.significance``),
ours / paper / difference as one wide table per metric, the pictures, the best-practice checklist
(``analysis.checklist``, also checklist.md).
"""

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis import plots, render
from analysis.checklist import checklist
from analysis.paper import compare_with_paper, has_paper_table
from analysis.pictures import PICTURES
from analysis.significance import marker_legend
from analysis.tables import TableLayout, caption, resolve, row_name, select_runs, significance_tests, summarize
from trials import metric_names as mn

SMOKE = "smoke"
SMOKE_BANNER = ("Smoke run: these numbers check that the pipeline works end to end on tiny widths and a few "
                "iterations; they rank nothing and are not comparable with the paper's numbers.")
CHECKLIST_TITLE = "NAS best-practice checklist (Lindauer & Hutter, JMLR 2020), from what the store records"
CHECKLIST_HEADER = ("Item", "From the runs")
Block = tuple  # (kind, *content); kinds: h1, h2, h3, p, banner, facts, table, links, img


def write_tables(summary: pd.DataFrame, layout: TableLayout, out_dir: Path,
                 expected_seeds: int) -> dict[str, Path]:
    """table.md / .tex / .csv / .parquet, plus comparison.csv / .md where the paper has this table."""
    files = {"md": out_dir / "table.md", "tex": out_dir / "table.tex"}
    files["md"].write_text(render.to_markdown(summary, layout, expected_seeds))
    files["tex"].write_text(render.to_latex(summary, layout, expected_seeds))
    files["csv"] = render.write_csv(summary, out_dir / "table.csv")
    files["parquet"] = render.write_parquet(summary, out_dir / "table.parquet")
    if has_paper_table(layout):
        comparison = compare_with_paper(summary, layout)
        files["comparison_csv"] = render.write_csv(comparison, out_dir / "comparison.csv")
        files["comparison_md"] = out_dir / "comparison.md"
        files["comparison_md"].write_text(render.frame_to_markdown(comparison))
    return files


def write_pictures(runs: pd.DataFrame, layout: TableLayout, out_dir: Path, curves: pd.DataFrame | None,
                   genotypes: Mapping | None) -> dict[str, Path]:
    """Trade-off per condition, search curves when given, one architecture figure per named genotype."""
    pictures = {f"PSNR against parameters, {c}": plots.plot_tradeoff(runs, c, out_dir / f"tradeoff_{c}.png")
                for c in layout.conditions}
    if layout.conditions:  # the run-level cost is its first condition's network's
        first = layout.conditions[0]
        for x, name in ((mn.LATENCY_MS, "latency"), (mn.MULT_ADDS_G, "mult_adds"),
                        (mn.SEARCH_DEVICE_HOURS, "search_cost")):
            pictures[f"PSNR against {plots.AXIS_LABELS[x].split(' (')[0]}, {first}"] = plots.plot_tradeoff(
                runs, first, out_dir / f"tradeoff_{name}_{first}.png", x=x)
    if curves is not None and not curves.empty:
        pictures["search curves"] = plots.plot_curves(curves, out_dir / "curves_val_psnr.png", mn.VAL_PSNR)
    for name, entry in (genotypes or {}).items():
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))
        genotype, width = entry
        pictures[f"architecture: {name}"] = PICTURES.get(genotype.space).architecture(
            genotype, out_dir / f"genotype_{safe}.png", str(name), width)
    return pictures


def write_report(runs: pd.DataFrame, layout: TableLayout, out_dir: str | Path,
                 curves: pd.DataFrame | None = None, genotypes: Mapping | None = None,
                 expected_seeds: int = 3, provenance: Mapping[str, str] | None = None) -> Path:
    """Everything for one table under ``out_dir``; returns report.md (report.html sits next to it).

    ``genotypes`` maps a display name (e.g. 'lwas_resl seed 0') to (a ``search_space.Genotype``, its width);
    ``analysis.load.best_seed_genotypes`` gives each row's best seed. ``provenance`` is shown at the top.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layout = resolve(layout, runs)
    summary = summarize(runs, layout, expected_seeds)
    files = write_tables(summary, layout, out, expected_seeds)
    tests = significance_tests(runs, layout)
    files["significance_csv"] = render.write_csv(tests, out / "significance.csv")
    pictures = write_pictures(runs, layout, out, curves, genotypes)
    items = checklist(runs, layout, provenance)
    files["checklist"] = out / "checklist.md"
    files["checklist"].write_text(render.pipe_table(list(CHECKLIST_HEADER), [list(i) for i in items]))
    blocks = _outline(summary, layout, files, pictures, expected_seeds, dict(provenance or {}),
                      is_smoke(runs, layout, provenance), tests)
    blocks += [("h2", CHECKLIST_TITLE), ("table", list(CHECKLIST_HEADER), [list(i) for i in items])]
    (out / "report.html").write_text(_html(layout.title, blocks))
    report = out / "report.md"
    report.write_text("\n".join(_MARKDOWN[kind](*content) for kind, *content in blocks))
    return report


def is_smoke(runs: pd.DataFrame, layout: TableLayout, provenance: Mapping[str, str] | None = None) -> bool:
    """The caller says so, or any run of this table carries the smoke preset tag."""
    if (provenance or {}).get("preset") == SMOKE:
        return True
    presets = select_runs(runs, layout, finished_only=False).get(mn.TAG_PRESET, pd.Series(dtype=object))
    return bool((presets == SMOKE).any())


# --- the outline ----------------------------------------------------------------------------------------
def _outline(summary, layout, files, pictures, expected_seeds, provenance, smoke, tests) -> list[Block]:
    blocks: list[Block] = [("h1", layout.title)]
    blocks += [("banner", SMOKE_BANNER)] if smoke else []
    blocks += [("facts", list(provenance.items()))] if provenance else []
    blocks += [("p", caption(layout, expected_seeds, summary)),
               ("table", render.headers(layout, summary), render.text_rows(summary, layout)),
               ("links", [p.name for p in files.values()])]
    blocks += _significance_blocks(tests, layout)
    if "comparison_csv" in files:
        blocks += _paper_blocks(pd.read_csv(files["comparison_csv"], dtype={"condition": str}), layout, smoke)
    blocks += [block for name, path in pictures.items() for block in (("h2", name), ("img", name, path.name))]
    return blocks


def _significance_blocks(tests: pd.DataFrame, layout: TableLayout) -> list[Block]:
    if tests.empty:
        return []
    names = {row.setting: row_name(row, layout) for row in layout.rows}
    columns = render.value_headers(layout)
    rows = [[names[t.setting], names[t.compare_with], columns[t.column], _number(t.diff, "{:+.4f}"),
             _number(t.p, "{:.3g}"), str(t.n), str(t.compare_n)] for t in tests.itertuples(index=False)]
    note = (f"Welch's t-test (two-sided, unequal variances) of each row's per-seed values against the row it "
            f"is compared with; diff = row - compared row. In the table: {marker_legend()}. No p-value with "
            f"fewer than 2 seeds a side or no spread on both. Also in significance.csv.")
    header = ["Row", "Compared with", "Column", "Diff", "p", "n", "n (compared)"]
    return [("h2", "Differences beyond seed noise"), ("p", note), ("table", header, rows)]


def _paper_blocks(comparison: pd.DataFrame, layout: TableLayout, smoke: bool) -> list[Block]:
    blocks: list[Block] = [("h2", f"Against the paper ({layout.table_id})")]
    blocks += [("banner", SMOKE_BANNER)] if smoke else []
    blocks.append(("p", "Each cell: ours / paper / diff (ours - paper), means over seeds; "
                        "every metric in long form, params included, in comparison.csv."))
    for metric in layout.metrics:
        wide = render.comparison_wide(comparison, layout, metric)
        blocks += [("h3", metric.upper()), ("table", list(wide.columns), wide.values.tolist())]
    return blocks


def _number(value: float, fmt: str) -> str:
    return render.EMPTY if pd.isna(value) else fmt.format(value)


# --- Markdown and HTML ----------------------------------------------------------------------------------
_MARKDOWN = {
    "h1": lambda text: f"# {text}\n", "h2": lambda text: f"## {text}\n", "h3": lambda text: f"### {text}\n",
    "p": lambda text: f"{text}\n", "banner": lambda text: f"> **{text}**\n",
    "facts": lambda items: "".join(f"- **{key}**: {value}\n" for key, value in items),
    "table": render.pipe_table,
    "links": lambda names: "Files: " + ", ".join(f"[{n}]({n})" for n in names) + "\n",
    "img": lambda name, file: f"![{name}]({file})\n",
}


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_e = html.escape
_HTML = {
    "h1": lambda text: f"<h1>{_e(text)}</h1>", "h2": lambda text: f"<h2>{_e(text)}</h2>",
    "h3": lambda text: f"<h3>{_e(text)}</h3>", "p": lambda text: f"<p>{_e(text)}</p>",
    "banner": lambda text: f'<p class="banner"><strong>{_e(text)}</strong></p>',
    "facts": lambda items: "<ul>" + "".join(f"<li><b>{_e(k)}</b>: {_e(str(v))}</li>" for k, v in items) + "</ul>",
    "table": _html_table,
    "links": lambda names: "<p>Files: " + ", ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in names) + "</p>",
    "img": lambda name, file: f'<img src="{_e(file)}" alt="{_e(name)}">',
}
_STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}"
          ".banner{background:#fff3cd;border:1px solid #e0b000;padding:8px}")


def _html(title: str, blocks: list[Block]) -> str:
    body = "".join(_HTML[kind](*content) for kind, *content in blocks)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>\n")
