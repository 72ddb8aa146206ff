"""What the CLI calls: a table as text, a table file, a report folder. Runs come from ``analysis.load``."""

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis import render
from analysis.paper import compare_with_paper
from analysis.report import has_paper_table, write_report
from analysis.tables import TableLayout, layout_for, resolve, summarize

Format = Literal["md", "tex", "csv"]


def table(runs: pd.DataFrame, ablation: str, task: str, expected_seeds: int = 3) -> tuple[pd.DataFrame,
                                                                                          TableLayout]:
    """The summary frame and the resolved layout it was built with."""
    layout = resolve(layout_for(ablation, task), runs)
    return summarize(runs, layout, expected_seeds), layout


def table_text(runs: pd.DataFrame, ablation: str, task: str, fmt: Format = "md", compare_paper: bool = False,
               expected_seeds: int = 3) -> str:
    """The table in Markdown, LaTeX or CSV; with ``compare_paper``, followed by ours / paper / difference."""
    summary, layout = table(runs, ablation, task, expected_seeds)
    text = {"md": lambda: render.to_markdown(summary, layout, expected_seeds),
            "tex": lambda: render.to_latex(summary, layout, expected_seeds),
            "csv": lambda: summary.to_csv(index=False)}[fmt]()
    if not compare_paper:
        return text
    if not has_paper_table(layout.table_id):
        return text + f"\n(The paper has no table for ablation '{ablation}', task '{task}'.)\n"
    comparison = compare_with_paper(summary, layout.table_id, layout)
    as_text = {"md": render.frame_to_markdown, "tex": render.frame_to_latex,
               "csv": lambda f: f.to_csv(index=False)}[fmt]
    return f"{text}\nAgainst the paper ({layout.table_id}; diff = ours - paper):\n\n{as_text(comparison)}"


def build_report(runs: pd.DataFrame, ablation: str, task: str, out_dir: str | Path,
                 curves: pd.DataFrame | None = None, genotypes: Mapping | None = None,
                 expected_seeds: int = 3) -> Path:
    """Tables, paper comparison, pictures, report.md and report.html under ``out_dir``; returns report.md."""
    return write_report(runs, layout_for(ablation, task), out_dir, curves, genotypes, expected_seeds)
