"""A paper's published numbers (a long CSV, e.g. orchestrator/experiments/hinas_paper_numbers.csv, named by
the layout's ``paper_numbers``) and our summary side by side with them.

The CSV is long: ``table, setting, condition, metric, mean, std, min, max, note``; ``metric`` is 'psnr',
'ssim', 'params_m' (range in min/max, or a single value in mean) or 'search_gpu_hours'; ``condition`` is
empty for the last two. Settings use our setting names; other methods keep theirs (E-CAE, MoreMNAS,
FALSR). How each paper's numbers were transcribed is noted beside them, in its experiments module.
"""

from pathlib import Path

import pandas as pd

from analysis.tables import TableLayout, value_columns


def paper_numbers(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"condition": str, "note": str}, keep_default_na=False,
                       na_values={"mean": [""], "std": [""], "min": [""], "max": [""]})


def paper_table(table_id: str, path: str | Path) -> pd.DataFrame:
    """The rows of one table, e.g. 'table1'."""
    numbers = paper_numbers(path)
    return numbers[numbers["table"] == table_id].reset_index(drop=True)


def _ours_long(summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Our summary in the paper's long shape: setting, condition, metric, ours_mean, ours_std, ours_n."""
    records = []
    for _, row in summary.iterrows():
        for column in columns:
            metric, _, condition = column.partition("_") if column.startswith(("psnr_", "ssim_")) else (
                column, "", "")
            records.append((row["setting"], row["label"], condition, metric, row[f"{column}_mean"],
                            row[f"{column}_std"], row["n"]))
        records.append((row["setting"], row["label"], "", "params_m", row["params_mean"], None, row["n"]))
    return pd.DataFrame.from_records(records, columns=["setting", "label", "condition", "metric", "ours_mean",
                                                      "ours_std", "ours_n"])


def has_paper_table(layout: TableLayout) -> bool:
    return layout.paper_numbers is not None and layout.table_id in set(paper_numbers(layout.paper_numbers)["table"])


def compare_with_paper(summary: pd.DataFrame, layout: TableLayout) -> pd.DataFrame:
    """Ours, the paper's and the difference (ours - paper) per setting, condition and metric.

    ``summary`` is ``tables.summarize``'s frame; ``layout`` (resolved) names its value columns and the paper's
    table. Params compare our mean with the paper's single value or range midpoint.
    """
    ours = _ours_long(summary, value_columns(layout))
    paper = paper_table(layout.table_id, layout.paper_numbers)
    paper = paper.assign(mean=paper["mean"].fillna((paper["min"] + paper["max"]) / 2))
    paper = paper.rename(columns={"mean": "paper_mean", "std": "paper_std"})
    merged = ours.merge(paper[["setting", "condition", "metric", "paper_mean", "paper_std"]],
                        on=["setting", "condition", "metric"], how="left")
    merged["diff"] = merged["ours_mean"] - merged["paper_mean"]
    return merged
