"""DLSR (Huang et al., arXiv 2105.03939): its presets, its ablation (cell + network search against each level
alone and random search on the same space) and the HiNAS-DLSR comparison no paper has.

No PSNR/SSIM table of the paper could be obtained (dlsr-spec section 4): the tables have no paper numbers;
the paper's complexity figures (about 68G Mult-Adds at x2, 18G at x4) are pinned by tests/test_dlsr_space.py.
"""

from analysis.tables import Row, TableLayout
from orchestrator.experiments.base import EXPERIMENTS, Ablation, Experiments, Overrides, Setting, task_layout
from trials import metric_names as M

SPACE, METHOD, RSWS, HINAS = "dlsr", "dlsr", "rsws", "hinas"
SR = "sr"
SCALES = "2,3,4"
SEARCH_COST = (M.MULT_ADDS_G, M.LATENCY_MS, M.SEARCH_TIME_S, M.PEAK_MEMORY_MB)


# --- presets ----------------------------------------------------------------------------------------------
def paper(task: str, space: str, method: str) -> Overrides:
    """The authors' scripts (dlsr-spec 2 and 4): search at x2 on DF2K (weights on images 1-3000, alpha/beta on
    3000-3450), Adam 5e-4 halved at epochs 200/400/600 of 1000, batch 64 of 64 px HR patches, 985 iterations
    an epoch; retrain at nf=48 with Adam 3e-4 halved at 200/400/600/800 of 1000 epochs (~1941 iterations
    each), batch 32 of 128 px HR patches, gradient norm clipped at 50; x3/x4 warm-started from x2."""
    overrides: Overrides = {
        "loss.name": "l1_hfen", "data.split": "ordered",
        "search.epochs": 1000, "search.eval_from_epoch": 1000, "search.steps_per_epoch": 985,
        "search.batch_size": 64, "search.crop_size": 32,
        "search.w_optimizer": "adam", "search.w_lr": 5e-4, "search.w_betas": "0.9,0.999",
        "search.w_weight_decay": 1e-8, "search.w_schedule": "multistep", "search.w_milestones": "0.2,0.4,0.6",
        "search.w_gamma": 0.5, "search.grad_clip": None,
        "retrain.iterations": 1_941_000, "retrain.batch_size": 32, "retrain.hr_crop_size": 128,
        "retrain.base_width": 48, "retrain.optimizer": "adam", "retrain.lr": 3e-4, "retrain.betas": "0.9,0.999",
        "retrain.weight_decay": 1e-8, "retrain.schedule": "multistep", "retrain.milestones": "0.2,0.4,0.6,0.8",
        "retrain.gamma": 0.5, "retrain.grad_clip": 50.0, "retrain.clip_mode": "norm",
        "retrain.checkpoint_every": 2000,
    }
    if task == SR:
        overrides |= {"task.search_scale": 2, "task.scales": SCALES, "retrain.warm_start_from": 2}
    if method == RSWS:
        overrides["method.samples"] = 30
    return overrides


def smoke(task: str, space: str, method: str) -> Overrides:
    """dlsr-spec section 6 on the built-in images: nf=8, 6 cells (beta_4..beta_6 still real choices), 16 px
    LR crops (the attention needs 15), 6 epochs of 10 steps with architecture steps from epoch 3; retraining
    at nf=16 for x2, then x4 warm-started from it."""
    overrides = paper(task, space, method) | {
        "space.width": 8, "search.epochs": 6, "search.eval_from_epoch": 5, "search.steps_per_epoch": 10,
        "search.batch_size": 2, "search.crop_size": 16, "search.w_lr": 2e-3, "search.w_milestones": "0.5,0.84",
        "retrain.iterations": 120, "retrain.batch_size": 4, "retrain.hr_crop_size": None, "retrain.crop_size": 16,
        "retrain.base_width": 16, "retrain.lr": 2e-3, "retrain.checkpoint_every": 40, "data.max_test_images": 2,
    }
    if task == SR:
        overrides |= {"task.scales": "2,4"}
    if method == METHOD:
        overrides |= {"method.warmup_epochs": 2, "method.a_lr": 3e-3}
    if method == HINAS:
        overrides |= {"method.warmup_epochs": 2}
    if method == RSWS:
        overrides["method.samples"] = 4
    return overrides


# --- ablations --------------------------------------------------------------------------------------------
DLSR_SPACE = {"space.name": SPACE, "method.name": METHOD}


def dlsr(task: str, **_) -> Ablation:
    return Ablation("dlsr", "DLSR: cell + network search vs each level alone and random search", (SR,), (
        Setting("dlsr", DLSR_SPACE),
        Setting("cell_only", {**DLSR_SPACE, "space.network_search": False}),  # RFDN's wiring
        Setting("network_only", {**DLSR_SPACE, "space.cell_search": False}),  # RFDN's 3x3 convs
        Setting("rsws", {"space.name": SPACE, "method.name": RSWS}),
    ))


def sr_systems(task: str, **_) -> Ablation:
    """HiNAS and DLSR on the same data, search scale, retraining scales and evaluation (each with its own
    presets otherwise)."""
    same = {"task.search_scale": 2, "task.scales": SCALES}
    return Ablation("sr-systems", "HiNAS and DLSR side by side: same data, scales and evaluation", (SR,), (
        Setting("hinas", {"space.name": HINAS, "method.name": HINAS, **same}),
        Setting("dlsr", {**DLSR_SPACE, **same}),
    ))


# --- tables -----------------------------------------------------------------------------------------------
# Significance (Row.compare_with): each level alone and random search against the full DLSR search;
# HiNAS against DLSR on the same protocol.
_ROWS = {
    "dlsr": (Row("dlsr", "DLSR", ("yes", "yes")),
             Row("cell_only", "DLSR, cell search only", ("yes", "no"), compare_with="dlsr"),
             Row("network_only", "DLSR, network search only", ("no", "yes"), compare_with="dlsr"),
             Row("rsws", "random search + weight sharing", ("random", "random"), compare_with="dlsr")),
    "sr-systems": (Row("hinas", "HiNAS", compare_with="dlsr"), Row("dlsr", "DLSR")),
}
_MARKS = {"dlsr": ("cell search", "network search"), "sr-systems": ()}
_TITLES = {"dlsr": "DLSR: what each level of the search brings (no paper table)",
           "sr-systems": "HiNAS and DLSR on the same data and protocol (no paper has this table)"}


def layout(ablation: str, task: str) -> TableLayout:
    return task_layout(task, table_id=f"{ablation}_{task}", ablation=ablation, title=_TITLES[ablation],
                       rows=_ROWS[ablation], mark_columns=_MARKS[ablation], extras=SEARCH_COST)


EXPERIMENTS.register(Experiments(
    name="dlsr", space=SPACE, method=METHOD, presets={"smoke": smoke, "paper": paper},
    ablations={"dlsr": dlsr, "sr-systems": sr_systems}, layout=layout,
))
