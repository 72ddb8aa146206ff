"""Pictures of runs (matplotlib, Agg): each function takes an output path and returns it. A search space's
own pictures (architectures, architecture weights) are in ``analysis/pictures/<space>.py``."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from trials import metric_names as mn  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _annotate(ax, values: np.ndarray) -> None:
    for (i, j), v in np.ndenumerate(values):
        dark = v < 0.5 * np.nanmax(values)
        text, color = ("–", "0.5") if np.isnan(v) else (f"{v:.2f}", "white" if dark else "k")
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)


# --- runs ---------------------------------------------------------------------------------------------------
AXIS_LABELS = {mn.PARAMS_M: "parameters (M)", mn.MULT_ADDS_G: "Mult-Adds (G)",
               mn.LATENCY_MS: f"latency (ms, {mn.LATENCY_INPUT[0]}x{mn.LATENCY_INPUT[1]} input)",
               mn.SEARCH_DEVICE_HOURS: "search cost (device-hours)"}


def plot_tradeoff(runs: pd.DataFrame, condition: str, out_path: str | Path, title: str = "",
                  x: str = mn.PARAMS_M) -> Path:
    """PSNR at ``condition`` against ``x`` (parameters, Mult-Adds or latency), one point per run, one colour
    per setting, as the HiNAS paper's Fig. 14; reference rows (degraded input, a classical method, imported
    networks), which have no such cost, are dashed lines at their mean PSNR."""
    column = mn.psnr(condition)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if column not in runs.columns or x not in runs.columns:
        runs = runs.iloc[0:0].reindex(columns=[*runs.columns, column, x])
    references = runs[runs.get(mn.TAG_REFERENCE, pd.Series(index=runs.index, dtype=object)).notna()]
    data = runs.drop(index=references.index).dropna(subset=[x, column])
    for setting, group in data.groupby(mn.TAG_SETTING, sort=False):
        ax.scatter(group[x], group[column], label=setting, s=36, alpha=0.85)
    for _, group in references.dropna(subset=[column]).groupby(mn.TAG_SETTING, sort=False):
        ax.axhline(group[column].mean(), linestyle="--", linewidth=1, color="0.45")
        ax.annotate(str(group[mn.TAG_REFERENCE].iloc[0]), (0.01, group[column].mean()), fontsize=7, color="0.3",
                    xycoords=("axes fraction", "data"), va="bottom")
    ax.set_xlabel(AXIS_LABELS.get(x, x))
    ax.set_ylabel(f"PSNR (dB), {condition}")
    ax.set_title(title or f"accuracy against {AXIS_LABELS.get(x, x).split(' (')[0]} ({condition})")
    ax.grid(alpha=0.3)
    if not data.empty:
        ax.legend(title="setting", fontsize=8)
    return _save(fig, out_path)


METRIC_LABELS = {mn.VAL_PSNR: "validation PSNR (dB)", mn.VAL_SSIM: "validation SSIM",
                 mn.VAL_SCORE: "validation SSIM + PSNR/100", mn.TRAIN_LOSS: "training loss"}


def plot_curves(curves: pd.DataFrame, out_path: str | Path, metric: str = mn.VAL_PSNR, band: str = "minmax",
                title: str = "") -> Path:
    """``metric`` over epochs per setting: the mean over seeds and a min-max (or ±std) band."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    data = curves[curves["metric"] == metric]
    for setting, group in data.groupby(mn.TAG_SETTING, sort=False):
        stats = group.groupby("step")["value"].agg(["mean", "min", "max", "std"])
        low, high = ((stats["min"], stats["max"]) if band == "minmax"
                     else (stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0)))
        (line,) = ax.plot(stats.index, stats["mean"], label=setting)
        ax.fill_between(stats.index, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("search epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    band_text = "min-max" if band == "minmax" else "±1 std"
    ax.set_title(title or f"{METRIC_LABELS.get(metric, metric)} during search (mean over seeds, {band_text} band)")
    ax.grid(alpha=0.3)
    if not data.empty:
        ax.legend(title="setting", fontsize=8)
    return _save(fig, out_path)
