"""What the CLI calls: a table as text, a table file, a report folder. Runs come from ``analysis.load``."""

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis import render
from analysis.paper import compare_with_paper, has_paper_table
from analysis.report import SMOKE_BANNER, is_smoke, write_report
from analysis.tables import TableLayout, metric_columns, resolve, summarize

Format = Literal["md", "tex", "csv"]


def table(runs: pd.DataFrame, layout: TableLayout, expected_seeds: int = 3) -> tuple[pd.DataFrame, TableLayout]:
    """The summary frame and the resolved layout it was built with."""
    layout = resolve(layout, runs)
    return summarize(runs, layout, expected_seeds), layout


def table_text(runs: pd.DataFrame, layout: TableLayout, fmt: Format = "md", compare_paper: bool = False,
               expected_seeds: int = 3) -> str:
    """The table in Markdown, LaTeX or CSV; with ``compare_paper``, followed by ours / paper / difference."""
    summary, layout = table(runs, layout, expected_seeds)
    text = {"md": lambda: render.to_markdown(summary, layout, expected_seeds),
            "tex": lambda: render.to_latex(summary, layout, expected_seeds),
            "csv": lambda: summary.to_csv(index=False)}[fmt]()
    if not compare_paper:
        return text
    if not has_paper_table(layout):
        return text + f"\n(The paper has no table for ablation '{layout.ablation}', task '{layout.task}'.)\n"
    comparison = compare_with_paper(summary, layout)
    if comparison.loc[comparison["metric"].isin(layout.metrics), "paper_mean"].isna().all():
        return text + (f"\n(The paper's {layout.table_id} has no PSNR/SSIM at these conditions "
                       f"({', '.join(layout.conditions)}): nothing to set beside ours.)\n")
    if fmt == "csv":  # for a program: every metric in long form, params included
        return f"{text}\n{comparison.to_csv(index=False)}"
    as_text = {"md": lambda f: render.pipe_table(list(f.columns), f.values.tolist()), "tex": render.frame_to_latex}[fmt]
    blocks = [f"Against the paper ({layout.table_id}): each cell ours / paper / diff (ours - paper), means over "
              f"seeds; --format csv gives every metric in long form."]
    blocks += [SMOKE_BANNER] if is_smoke(runs, layout) else []
    for metric in layout.metrics:
        wide = render.comparison_wide(comparison, layout, metric)
        blocks.append(f"{metric.upper()}\n\n{as_text(wide)}")
    return text + "\n" + "\n\n".join(blocks) + "\n"


def summary_metrics(runs: pd.DataFrame, layout: TableLayout, expected_seeds: int = 3) -> dict[str, float]:
    """The table's means as flat metrics for the parent run, so the MLflow runs table and charts show results
    at once: '<column>_mean.<setting>' (e.g. 'psnr_sigma30_mean.lwas'), a setting's metrics side by side."""
    summary, layout = table(runs, layout, expected_seeds)
    columns = [*metric_columns(layout), "params"]
    return {f"{column}_mean.{row.setting}": float(row[f"{column}_mean"])
            for _, row in summary.iterrows() for column in columns
            if f"{column}_mean" in summary.columns and pd.notna(row[f"{column}_mean"])}


def build_report(runs: pd.DataFrame, layout: TableLayout, out_dir: str | Path,
                 curves: pd.DataFrame | None = None, genotypes: Mapping | None = None,
                 expected_seeds: int = 3, provenance: Mapping[str, str] | None = None) -> Path:
    """Tables, seed-noise tests, paper comparison, pictures, report.md and report.html under ``out_dir``;
    returns report.md. ``provenance`` (e.g. command, preset, commit, date, invocation) heads the report, in
    its order; a 'smoke' preset there or on the runs puts a banner on it. ``genotypes``: see
    ``analysis.load.best_seed_genotypes``."""
    return write_report(runs, layout, out_dir, curves, genotypes, expected_seeds, provenance)
