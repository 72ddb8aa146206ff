"""HiNAS (Zhang et al.): its presets, its ablations (Tables 1-5, 8, 9 and the lambda sweep), their table
layouts and the paper's numbers (``hinas_paper_numbers.csv``, format in analysis/paper.py).

Setting names are the rows' keys: runs are tagged with them and the layouts list them.

Transcription decisions (each number checked twice against the paper text):
- Table 1 lost its LWAS/ResL check marks. The row order is RSWS, basic, +LWAS, +ResL, +both, as hinas-spec
  section 11 reads it (the text's deltas do not match the table exactly either way).
- Table 1, +ResL, sigma 70 PSNR std reads '±0238' in the text: recorded as 0.0238.
- Tables 8/9 lost their cell-sharing marks: the row with the larger search cost (3.6 h, 12.6 h) is the one
  without cell sharing (eq6), as the paper's text on search cost says.
- Table 9 does not name its scale; its numbers (Set5 ~37.6 dB, MoreMNAS/FALSR) are x2 SR.
- Table 9, eq5, Urban100 SSIM std is printed without '±' ('0.0003'): read as a std of 0.0003.
- Tables 3-5 give single numbers, no std (Table 3: one parameter count per row). Their 'Comparison'
  rows are differences of the rows above and are not stored (Table 4's '0.009' contradicts 26.77 - 26.77).
"""

import re
from pathlib import Path

import numpy as np

from analysis.tables import Row, TableLayout
from orchestrator.experiments.base import (
    EXPERIMENTS,
    Ablation,
    Experiments,
    Overrides,
    Setting,
    Tuned,
    bench_data,
    task_layout,
)
from trials import metric_names as M
from trials.tasks import TASKS

SPACE, METHOD, RSWS = "hinas", "hinas", "rsws"
DENOISE, SR = "denoise", "sr"
PAPER_NUMBERS = Path(__file__).with_name("hinas_paper_numbers.csv")
RSWS_SAMPLES = 30  # "RSWS, N = 30"


# --- presets ----------------------------------------------------------------------------------------------
def smoke(task: str, space: str, method: str) -> Overrides:
    """The whole pipeline on the built-in images in well under a minute of 2-core CPU per trial, so that a
    full ablation (15 trials) fits in a few minutes. Tiny widths, few epochs and iterations."""
    overrides = paper(task, space, method) | {
        "space.layers": 2, "space.nodes": 3, "space.base_width": 4, "space.stem_width": 8, "space.head_width": 8,
        "search.epochs": 4, "search.eval_from_epoch": 2, "search.steps_per_epoch": 4,
        "search.batch_size": 4, "search.crop_size": 32,
        # Adam at 3e-3 for 200 iterations: the fewest that put every setting above the noisy input at every
        # sigma (SGD at the paper's 0.05 for 80 left nets without residual learning below it, one at 7 dB).
        "retrain.iterations": 200, "retrain.optimizer": "adam", "retrain.lr": 3e-3,
        "retrain.batch_size": 8, "retrain.crop_size": 32, "retrain.base_width": 8,
        "retrain.checkpoint_every": 100, "data.max_test_images": 2,
        # Residual nets start at their skip: an SR net otherwise spends ~800 iterations getting back to bicubic.
        "retrain.start_at_skip": True,
    }
    if method == METHOD:  # alpha visibly moves in a dozen architecture steps
        overrides |= {"method.warmup_epochs": 1, "method.a_lr": 0.02}
    if task == SR:  # the 256 px built-in images give 32 px LR crops at x4 only up to 64 px; keep crops small
        overrides |= {"search.crop_size": 16, "retrain.crop_size": 16}
    return overrides


def bench(task: str, space: str, method: str) -> Overrides:
    """Real benchmark images under the published protocol, the networks small enough for about 5 minutes a
    trial on one of 2 CPU cores, so that Table 1's 15 trials take an hour (docs/benchmark.md: the measured
    table; a trial at 8x25 search steps and 2000 iterations at width 12 took 7 minutes to search and 12 per
    sigma). Denoising: trained on DnCNN's Train400, tested on BSD68 and Set12 at sigma 15/25/50, gray, noise
    unclipped. SR: trained on CBSD68, tested on Set5 and Set14 at x2 and x4 (HR modcropped, LR by MATLAB's
    bicubic)."""
    overrides = paper(task, space, method) | {
        "space.layers": 2, "space.nodes": 3, "space.base_width": 6, "space.stem_width": 12, "space.head_width": 12,
        "search.epochs": 6, "search.eval_from_epoch": 4, "search.steps_per_epoch": 10,
        "search.batch_size": 8, "search.crop_size": 32,
        "retrain.iterations": 500, "retrain.optimizer": "adam", "retrain.lr": 2e-3,
        "retrain.batch_size": 8, "retrain.crop_size": 32, "retrain.base_width": 10,
        "retrain.checkpoint_every": 250, "retrain.start_at_skip": True,
    }
    if method == METHOD:
        overrides |= {"method.warmup_epochs": 2}
    if task == DENOISE:
        overrides |= {"data.kind": "train400", "data.root": bench_data("denoise", "Train400"),
                      "data.test_sets": "bsd68,set12", "data.test_root": bench_data("denoise"),
                      "task.sigmas": "15,25,50", "task.search_sigmas": "15,25,50"}
    if task == SR:
        overrides |= {"data.kind": "cbsd68", "data.root": bench_data("color", "CBSD68"),
                      "data.test_sets": "set5,set14", "data.test_root": bench_data("sr", "benchmark"),
                      "data.modcrop": True, "task.scales": "2,4", "task.search_scale": 2,
                      "search.crop_size": 24, "retrain.crop_size": 24}
    return overrides


def paper(task: str, space: str, method: str) -> Overrides:
    """Section 4.1. Denoising: L=3, B=4, f=10, batch 8, 400k retrain iterations at f=20 on BSD500.
    SR: L=2, B=3, batch 24, 600k retrain iterations at f=30 on DIV2K, tested on the benchmarks."""
    overrides: Overrides = {}
    if task == SR:
        overrides |= {"space.layers": 2, "space.nodes": 3, "search.batch_size": 24,
                      "retrain.iterations": 600_000, "retrain.base_width": 30}
    if method == RSWS:
        overrides["method.samples"] = RSWS_SAMPLES
    return overrides


# --- ablations --------------------------------------------------------------------------------------------
def _switches(lwas: bool, resl: bool) -> Overrides:
    return {"space.lwas": lwas, "space.residual": resl}


BOTH = _switches(True, True)


def manual_widths(task: str, multipliers_3_layers: tuple[float, ...]) -> str:
    """Per-layer width multipliers of f, cut to the task's layer count (SR searches 2 layers)."""
    layers = 2 if task == SR else 3
    return ",".join(str(m) for m in multipliers_3_layers[:layers])


def lwas(task: str, **_) -> Ablation:
    return Ablation("lwas", "LWAS and residual learning vs RSWS (Tables 1, 2)", (DENOISE, SR), (
        # RSWS searches the same space as the full HiNAS row, so the two rows differ only in the search.
        Setting("rsws", {"method.name": RSWS, **BOTH}),
        Setting("basic", _switches(False, False)),
        Setting("lwas", _switches(True, False)),
        Setting("resl", _switches(False, True)),
        Setting("lwas_resl", BOTH),
    ))


def width(task: str, **_) -> Ablation:
    # widths are multipliers of f: at the retrain width f=20, w40 = 40 everywhere, wm = 20, 40, 80.
    return Ablation("width", "searched widths vs fixed widths w40 / wm (Table 3)", (DENOISE,), (
        Setting("ws", BOTH),
        Setting("w40", {**BOTH, "space.width_search": False, "space.manual_widths": manual_widths(task, (2, 2, 2))}),
        Setting("wm", {**BOTH, "space.width_search": False, "space.manual_widths": manual_widths(task, (1, 2, 4))}),
    ))


def ssim_ablation(task: str, **_) -> Ablation:
    return Ablation("ssim", "MSE alone vs MSE + SSIM loss (Tables 4, 5)", (DENOISE, SR), (
        Setting("mse", {**BOTH, "loss.lam": 0.0}),
        Setting("mse_ssim", {**BOTH, "loss.lam": 0.6}),
    ))


def cellsharing(task: str, **_) -> Ablation:
    return Ablation("cellsharing", "Eq. 6 (no cell sharing) vs Eq. 5 (cell sharing) (Tables 8, 9)", (DENOISE, SR), (
        Setting("eq6", {**BOTH, "space.cell_sharing": False}),
        Setting("eq5", {**BOTH, "space.cell_sharing": True}),
    ))


def lambda_sweep(task: str, lambdas: list[float] | None = None, **_) -> Ablation:
    """A sweep over the SSIM-loss weight; with --search optuna, Optuna picks the values instead."""
    lambdas = lambdas or [0.0, 0.3, 0.6, 1.0]
    for lam in lambdas:
        if not (np.isfinite(lam) and lam >= 0):
            raise ValueError(f"lambda must be a finite number >= 0, got {lam}")
    settings = tuple(Setting(lambda_setting(lam), {**BOTH, "loss.lam": lam}) for lam in lambdas)
    return Ablation("lambda", "sweep of the SSIM loss weight lambda", (DENOISE, SR), settings,
                    tuned=Tuned("loss.lam", 0.0, 1.5, lambda_setting))


def lambda_setting(lam: float) -> str:
    """'lam0.3': a grid's value and a searcher's (to 4 significant digits) name their rows alike."""
    return f"lam{lam:.4g}"


# --- tables -----------------------------------------------------------------------------------------------
def _sigmas(*sigmas: int) -> tuple[str, ...]:
    return tuple(TASKS.get(DENOISE).metric_condition("", s) for s in sigmas)


def _sr(scale: int, *sets: str) -> tuple[str, ...]:
    return tuple(TASKS.get(SR).metric_condition(s, scale) for s in sets)


# Significance (Row.compare_with): each HiNAS variant is tested against basic (what LWAS, ResL and both
# add); RSWS against the full HiNAS row, as it searches the same space and differs only in the search.
# Fixed widths against searched ones, the SSIM loss against MSE alone, cell sharing against none.
_LWAS_ROWS = (Row("rsws", "RSWS N=30", ("-", "-"), compare_with="lwas_resl"), Row("basic", "HiNAS", ("no", "no")),
              Row("lwas", "HiNAS", ("yes", "no"), compare_with="basic"),
              Row("resl", "HiNAS", ("no", "yes"), compare_with="basic"),
              Row("lwas_resl", "HiNAS", ("yes", "yes"), compare_with="basic"))
_WIDTH_ROWS = (Row("ws", "HiNAS-ws"), Row("w40", "HiNAS-w40", compare_with="ws"),
               Row("wm", "HiNAS-wm", compare_with="ws"))
_SSIM_ROWS = (Row("mse", "HiNAS* (MSE)"), Row("mse_ssim", "HiNAS** (MSE + l_ssim)", compare_with="mse"))
_SHARING_ROWS = (Row("eq6", "HiNAS", ("no",)), Row("eq5", "HiNAS", ("yes",), compare_with="eq6"))
_DEPLOY = (M.MULT_ADDS_G, M.LATENCY_MS)  # what running the found network costs, beyond the paper's columns
_COST = (M.SEARCH_GPU_HOURS, M.PEAK_MEMORY_MB, *_DEPLOY)
_LWAS_MARKS, _SHARING_MARKS = ("LWAS", "ResL"), ("cell sharing",)

# (ablation, task) -> the paper's table: id, title, rows, conditions, marks, extras, fixed condition (scale)
PAPER_TABLES = {
    ("lwas", DENOISE): ("table1", "Effects of LWAS and ResL, denoising (Table 1)", _LWAS_ROWS,
                        _sigmas(30, 50, 70), _LWAS_MARKS, _DEPLOY, None),
    ("lwas", SR): ("table2", "Effects of LWAS and ResL, x4 SR (Table 2)", _LWAS_ROWS,
                   _sr(4, "set5", "set14", "bsd100", "urban100"), _LWAS_MARKS, _DEPLOY, 4),
    ("width", DENOISE): ("table3", "Width search settings (Table 3)", _WIDTH_ROWS, _sigmas(30), (), _DEPLOY, None),
    ("ssim", DENOISE): ("table4", "Benefit of the l_ssim loss, denoising (Table 4)", _SSIM_ROWS,
                        _sigmas(30, 50, 70), (), _DEPLOY, None),
    ("ssim", SR): ("table5", "Benefit of the l_ssim loss, x4 SR (Table 5)", _SSIM_ROWS,
                   _sr(4, "set5", "bsd100", "urban100"), (), _DEPLOY, 4),
    ("cellsharing", DENOISE): ("table8", "Cell sharing, denoising (Table 8)", _SHARING_ROWS,
                               _sigmas(30, 50, 70), _SHARING_MARKS, _COST, None),
    ("cellsharing", SR): ("table9", "Cell sharing, x2 SR (Table 9)", _SHARING_ROWS,
                          _sr(2, "set5", "bsd100", "urban100"), _SHARING_MARKS, _COST, 2),
}
_ROWS_BY_ABLATION = {"lwas": (_LWAS_ROWS, _LWAS_MARKS), "width": (_WIDTH_ROWS, ()),
                     "ssim": (_SSIM_ROWS, ()), "cellsharing": (_SHARING_ROWS, _SHARING_MARKS),
                     "lambda": (None, ())}


def layout(ablation: str, task: str) -> TableLayout:
    """The paper's layout for (ablation, task); where the paper has none, the ablation's rows with conditions
    derived from the runs (e.g. width for SR, lambda for either task)."""
    common = {"ablation": ablation, "paper_numbers": PAPER_NUMBERS, "describe_setting": describe_setting}
    if (ablation, task) in PAPER_TABLES:
        table_id, title, rows, conditions, marks, extras, condition = PAPER_TABLES[(ablation, task)]
        return task_layout(task, table_id=table_id, title=title, rows=rows, conditions=conditions,
                           mark_columns=marks, extras=extras, condition=condition, **common)
    rows, marks = _ROWS_BY_ABLATION[ablation]
    extras = _COST if ablation == "cellsharing" else _DEPLOY
    sweep_baseline = lambda_setting(0.0) if ablation == "lambda" else None  # each lambda against MSE alone
    return task_layout(task, table_id=f"{ablation}_{task}", title=f"Ablation '{ablation}', {task}", rows=rows,
                       mark_columns=marks, extras=extras, compare_derived_with=sweep_baseline, **common)


def describe_setting(setting: str) -> tuple[float, str]:
    """Sweep rows: 'lam0.3' sorts by 0.3 and reads 'λ = 0.3'."""
    match = re.fullmatch(r"lam(.+)", setting)
    try:
        return (float(match.group(1)), f"λ = {match.group(1)}") if match else (np.inf, setting)
    except ValueError:
        return (np.inf, setting)


EXPERIMENTS.register(Experiments(
    name="hinas", space=SPACE, method=METHOD, presets={"smoke": smoke, "paper": paper, "bench": bench},
    ablations={"lwas": lwas, "width": width, "ssim": ssim_ablation, "cellsharing": cellsharing, "lambda": lambda_sweep},
    layout=layout,
))
