"""Every picture is written as a non-empty PNG; the report folder holds what it links to."""

import numpy as np
import pandas as pd
import pytest

from analysis import plots
from analysis.api import build_report
from analysis.pictures import PICTURES
from analysis.pictures import hinas as hinas_pictures
from analysis.synthetic import synthetic_runs
from orchestrator.results import layout as layout_for
from search_space.hinas import PRIMITIVES, Genotype

PNG = b"\x89PNG"
CELL = ((("sep_conv_3x3", 0), ("dil_conv_5x5", 1)), (("conv_3x3", 0), ("skip_connect", 2)),
        (("sep_conv_5x5", 1), ("dil_conv_3x3", 3)))


def _genotype(lwas: bool, path) -> Genotype:
    other = ((("skip_connect", 0), ("conv_3x3", 1)),) + CELL[1:]
    cells = (CELL, other) if lwas else (CELL,)
    return Genotype(cells=cells, width_multipliers=(1.0, 1.5), path=path, residual=True)


def _curves(runs: pd.DataFrame) -> pd.DataFrame:
    rows = [(r.run_id, r.setting, r.seed, "val_psnr", e, 25 + np.log1p(e)) for r in runs.itertuples()
            for e in range(5)]
    return pd.DataFrame(rows, columns=["run_id", "setting", "seed", "metric", "step", "value"])


def _is_png(path) -> bool:
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:4] == PNG


def test_plot_primitives_match_the_search_space():
    assert hinas_pictures.PRIMITIVES == PRIMITIVES


@pytest.mark.parametrize("lwas,path", [(True, (0, 1)), (False, None)])
def test_genotype_figure(tmp_path, lwas, path):
    pictures = PICTURES.get(_genotype(lwas, path).space)
    assert _is_png(pictures.architecture(_genotype(lwas, path), tmp_path / "g.png", "title", 20))


def test_weight_heat_maps(tmp_path):
    rng = np.random.default_rng(0)
    weights = {"alpha": rng.normal(size=(2, 9, 7)), "beta": rng.normal(size=(2, 3, 3))}
    files = PICTURES.get("hinas").arch_weights(weights, tmp_path, "best epoch")
    assert [f.name for f in files] == ["alpha.png", "beta.png"] and all(_is_png(f) for f in files)
    assert hinas_pictures.edge_names(2) == ["$c_{k-2}$ → 0", "$c_{k-1}$ → 0", "$c_{k-2}$ → 1", "$c_{k-1}$ → 1",
                                   "0 → 1"]


def test_run_plots(tmp_path):
    runs = synthetic_runs(9, layout_for("lwas", "denoise"))
    assert _is_png(plots.plot_tradeoff(runs, "sigma30", tmp_path / "t.png"))
    assert _is_png(plots.plot_curves(_curves(runs), tmp_path / "c.png"))
    assert _is_png(plots.plot_curves(_curves(runs), tmp_path / "s.png", band="std"))


def test_report_folder(tmp_path):
    runs = synthetic_runs(10, layout_for("lwas", "denoise"))
    report = build_report(runs, layout_for("lwas", "denoise"), tmp_path, curves=_curves(runs),
                          genotypes={"lwas seed 0": (_genotype(True, (0, 1)), 20)})
    text = report.read_text()
    for name in ("table.md", "table.tex", "table.csv", "table.parquet", "comparison.csv",
                 "tradeoff_sigma30.png", "curves_val_psnr.png", "genotype_lwas_seed_0.png"):
        assert (tmp_path / name).exists() and name in text, name
    html = (tmp_path / "report.html").read_text()
    assert '<img src="genotype_lwas_seed_0.png"' in html and "<table>" in html


def test_the_latency_and_mult_adds_tradeoffs_show_one_colour_per_row_and_references_as_lines(tmp_path, monkeypatch):
    """Issue 30: PSNR against latency and against Mult-Adds, one point per trial, references marked."""
    import matplotlib.pyplot as plt

    layout = layout_for("lwas", "denoise")
    runs = synthetic_runs(3, layout)
    condition = layout.conditions[0]
    noisy = pd.DataFrame({"run_id": ["n0", "n1"], "setting": "reference-noisy", "seed": ["0", "1"],
                          "reference": "noisy input", "status": "FINISHED", "ablation": "lwas", "task": "denoise",
                          f"psnr_{condition}": [18.5, 18.6]})
    with_reference = pd.concat([runs, noisy], ignore_index=True)
    drawn, save = {}, plots._save

    def keep_axes(fig, path):
        drawn[str(path)] = fig.axes[0]
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep_axes)
    report = build_report(with_reference, layout, tmp_path / "report")
    latency = drawn[str(tmp_path / "report" / f"tradeoff_latency_{condition}.png")]
    assert latency.get_xlabel().startswith("latency (ms")
    assert len(latency.collections) == runs["setting"].nunique()  # one colour (scatter) per searched row
    assert sum(len(c.get_offsets()) for c in latency.collections) == len(runs)  # one point per trial
    lines = [line for line in latency.get_lines() if line.get_linestyle() == "--"]
    assert len(lines) == 1 and lines[0].get_ydata()[0] == pytest.approx(18.55)  # the reference, at its mean
    assert _is_png(tmp_path / "report" / f"tradeoff_mult_adds_{condition}.png")
    assert f"tradeoff_latency_{condition}.png" in report.read_text()
    plt.close("all")
