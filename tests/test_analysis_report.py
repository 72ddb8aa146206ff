"""The report: provenance at the top, the smoke banner exactly when the preset is smoke, the seed-noise tests,
ours / paper / diff per metric, and each row's best-seed genotype read back from a real MLflow store."""

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from analysis.api import build_report
from analysis.load import best_seed_genotypes, load_runs, tidy
from analysis.report import SMOKE_BANNER
from analysis.synthetic import synthetic_runs
from analysis.tables import best_seeds, resolve, summarize
from orchestrator.results import layout as layout_for
from search_space.hinas import Genotype
from trials import metric_names as mn

SIGMAS = ("sigma30", "sigma50", "sigma70")
PROVENANCE = {"command": "python -m orchestrator ablation lwas", "preset": "paper", "commit": "abc123",
              "date": "2026-12-01 19:40 UTC", "invocation": "0123456789abcdef"}


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    layout = resolve(layout_for("lwas", "denoise"), pd.DataFrame(columns=[mn.psnr(c) for c in SIGMAS]))
    return synthetic_runs(15, layout, seed=3)


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    md = build_report(runs.assign(**{mn.TAG_PRESET: "paper"}), layout_for("lwas", "denoise"), out,
                      provenance=PROVENANCE)
    return md.read_text(), (out / "report.html").read_text()


def test_provenance_heads_the_report_in_the_given_order(report):
    md, html = report
    head = md[:md.index("Cells: mean")]
    positions = [head.index(f"**{key}**: {value}") for key, value in PROVENANCE.items()]
    assert positions == sorted(positions)
    assert "<li><b>invocation</b>: 0123456789abcdef</li>" in html
    assert SMOKE_BANNER not in md and "banner" not in html.split("</style>")[1]  # a paper preset: no banner


def test_smoke_reports_carry_the_banner_at_the_top_and_in_the_paper_comparison(runs, tmp_path):
    from_tag = build_report(runs.assign(**{mn.TAG_PRESET: "smoke"}), layout_for("lwas", "denoise"),
                            tmp_path / "tag").read_text()
    assert from_tag.count(SMOKE_BANNER) == 2
    assert from_tag.index(SMOKE_BANNER) < from_tag.index("| Method") < from_tag.index("## Against the paper") \
        < from_tag.rindex(SMOKE_BANNER)
    from_caller = build_report(runs, layout_for("lwas", "denoise"), tmp_path / "caller",
                               provenance={"preset": "smoke"})
    assert SMOKE_BANNER in from_caller.read_text()
    assert 'class="banner"' in (tmp_path / "caller" / "report.html").read_text()
    no_preset = build_report(runs, layout_for("lwas", "denoise"), tmp_path / "none").read_text()
    assert SMOKE_BANNER not in no_preset and "**command**" not in no_preset


def test_the_report_lists_each_compared_row_with_diff_p_and_seeds(runs, report):
    md, _ = report
    section = md[md.index("## Differences beyond seed noise"):md.index("## Against the paper")]
    summary = summarize(runs, layout_for("lwas", "denoise")).set_index("setting")
    p = summary.loc["lwas_resl", f"{mn.psnr('sigma70')}_p"]
    diff = summary.loc["lwas_resl", f"{mn.psnr('sigma70')}_mean"] - summary.loc["basic", f"{mn.psnr('sigma70')}_mean"]
    line = next(x for x in section.splitlines() if x.startswith("| HiNAS [LWAS yes, ResL yes]") and "σ=70 PSNR" in x)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells == ["HiNAS [LWAS yes, ResL yes]", "HiNAS [LWAS no, ResL no]", "σ=70 PSNR", f"{diff:+.4f}",
                     f"{p:.3g}", "3", "3"]
    assert sum(x.startswith("| ") for x in section.splitlines()) == 1 + 4 * 8  # header + 4 pairs x (6 + 2 cost)


def test_ours_paper_diff_is_one_wide_table_per_metric(runs, report):
    md, html = report
    paper = md[md.index("## Against the paper"):]
    ours = summarize(runs, layout_for("lwas", "denoise")).set_index("setting").loc["basic", "psnr_sigma30_mean"]
    row = next(x for x in paper[paper.index("### PSNR"):paper.index("### SSIM")].splitlines()
               if x.startswith("| HiNAS [LWAS no, ResL no]"))
    assert f"| {ours:.2f} / 29.15 / {ours - 29.15:+.2f} |" in row  # Table 1, basic, sigma 30: 29.15 dB
    assert "### SSIM" in paper and "<h3>SSIM</h3>" in html and "comparison.csv" in paper


def _run(setting: str, seed: int, psnrs: tuple[float, float, float], status: str = "FINISHED") -> dict:
    record = {"run_id": f"{setting}-{seed}-{status}", "status": status, mn.TAG_ABLATION: "lwas",
              mn.TAG_SETTING: setting, mn.TAG_SEED: str(seed), mn.TAG_TASK: "denoise"}
    return record | {mn.psnr(c): v for c, v in zip(SIGMAS, psnrs, strict=True)}


def test_the_best_seed_has_the_highest_mean_psnr_over_the_conditions():
    runs = tidy([_run("basic", 0, (30.0, 27.0, 25.0)),  # best at sigma 30, not on the mean
                 _run("basic", 1, (29.9, 27.5, 25.5)),
                 _run("basic", 2, (40.0, 40.0, 40.0), status="FAILED"),  # not finished: never chosen
                 _run("lwas", 0, (29.0, np.nan, 25.0)), _run("lwas", 1, (28.0, 26.0, 24.0)),
                 _run("reference-noisy", 0, (50.0, 50.0, 50.0))])
    best = best_seeds(runs, layout_for("lwas", "denoise")).set_index("setting")
    assert best["seed"].to_dict() == {"basic": 1, "lwas": 0}  # no rsws / resl runs, no reference
    assert best.loc["basic", "name"] == "HiNAS [LWAS no, ResL no]"


def _genotype(skip_first: bool) -> Genotype:
    first = ("skip_connect", 0) if skip_first else ("conv_3x3", 0)
    cell = ((first, ("dil_conv_5x5", 1)), (("conv_3x3", 0), ("skip_connect", 2)),
            (("sep_conv_5x5", 1), ("dil_conv_3x3", 3)))
    return Genotype(cells=(cell,), width_multipliers=(1.0, 1.5), path=(0, 1), residual=True)


def _logged_run(client, experiment_id, tmp_path, setting, seed, psnr, genotype: Genotype | None) -> None:
    run_id = client.create_run(experiment_id, tags={mn.TAG_ABLATION: "lwas", mn.TAG_SETTING: setting,
                                                    mn.TAG_SEED: str(seed), mn.TAG_TASK: "denoise"}).info.run_id
    client.log_param(run_id, "retrain.base_width", str(20 + seed))
    for condition in SIGMAS:
        client.log_metric(run_id, mn.psnr(condition), psnr)
    if genotype is not None:
        path = tmp_path / f"{run_id}" / "genotype.json"
        path.parent.mkdir()
        genotype.save(path)
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id)


def test_best_seed_genotypes_come_from_the_runs_artifacts(tmp_path):
    uri = f"sqlite:///{tmp_path}/m.db"
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("lwas-denoise", artifact_location=str(tmp_path / "artifacts"))
    _logged_run(client, experiment_id, tmp_path, "basic", 0, 29.0, _genotype(skip_first=False))
    _logged_run(client, experiment_id, tmp_path, "basic", 1, 29.5, _genotype(skip_first=True))  # the best
    _logged_run(client, experiment_id, tmp_path, "lwas", 0, 30.0, None)  # best, but no genotype artifact
    runs = load_runs(uri, experiment="lwas-denoise")
    genotypes = best_seed_genotypes(uri, runs, layout_for("lwas", "denoise"))
    assert list(genotypes) == ["HiNAS [LWAS no, ResL no] (seed 1)"]
    genotype, width = genotypes["HiNAS [LWAS no, ResL no] (seed 1)"]
    assert genotype == _genotype(skip_first=True) and width == 21
