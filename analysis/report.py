"""A report folder: the table in every format, the paper comparison, pictures, report.md and report.html."""

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis import plots, render
from analysis.paper import compare_with_paper, has_paper_table
from analysis.pictures import PICTURES
from analysis.tables import TableLayout, caption, resolve, summarize
from trials import metric_names as mn


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
                 expected_seeds: int = 3) -> Path:
    """Everything for one table under ``out_dir``; returns report.md (report.html sits next to it).

    ``genotypes`` maps a display name (e.g. 'lwas_resl seed 0') to (a ``search_space.Genotype``, its width).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layout = resolve(layout, runs)
    summary = summarize(runs, layout, expected_seeds)
    files = write_tables(summary, layout, out, expected_seeds)
    pictures = write_pictures(runs, layout, out, curves, genotypes)
    (out / "report.html").write_text(_html(summary, layout, files, pictures, expected_seeds))
    report = out / "report.md"
    report.write_text(_markdown(summary, layout, files, pictures, expected_seeds))
    return report


def _markdown(summary, layout, files, pictures, expected_seeds) -> str:
    parts = [f"# {layout.title}\n", render.to_markdown(summary, layout, expected_seeds)]
    parts.append("Files: " + ", ".join(f"[{p.name}]({p.name})" for p in files.values()) + "\n")
    if "comparison_md" in files:
        parts += [f"## Against the paper ({layout.table_id}; diff = ours - paper)\n",
                  files["comparison_md"].read_text()]
    parts += [f"## {name}\n\n![{name}]({path.name})\n" for name, path in pictures.items()]
    return "\n".join(parts)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(summary, layout, files, pictures, expected_seeds) -> str:
    parts = [f"<h1>{html.escape(layout.title)}</h1>",
             f"<p>{html.escape(caption(layout, expected_seeds))}</p>",
             _html_table(render.headers(layout), render.text_rows(summary, layout)),
             "<p>Files: " + ", ".join(f'<a href="{p.name}">{p.name}</a>' for p in files.values()) + "</p>"]
    if "comparison_csv" in files:
        comparison = pd.read_csv(files["comparison_csv"]).round(4).astype(object).fillna("")
        parts += [f"<h2>Against the paper ({html.escape(layout.table_id)}; diff = ours - paper)</h2>",
                  _html_table(list(comparison.columns), comparison.values.tolist())]
    parts += [f'<h2>{html.escape(name)}</h2><img src="{path.name}" alt="{html.escape(name)}">'
              for name, path in pictures.items()]
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(layout.title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
