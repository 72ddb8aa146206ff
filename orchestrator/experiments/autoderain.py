"""AutoDerain (Fu, Hou, Chen, VCIP 2021): its presets and its ablation, MDARTS against softmax DARTS, random
search with weight sharing and a hand-designed net on the same space, plus the HiNAS space on the same task.

Only the abstract is public (autoderain-spec 1): no table of the paper exists to compare with, and every
preset value is our design ([inf], following NASP's and PReNet's code); such runs carry the tag
``autoderain_inferred=1``.
"""

from analysis.tables import Row
from orchestrator.experiments.base import EXPERIMENTS, Ablation, Experiments, Overrides, Setting, task_layout
from trials import metric_names as M

SPACE, METHOD = "autoderain", "mdarts"
DARTS, RSWS, FIXED, HINAS = "darts", "rsws", "fixed", "hinas"
DERAIN = "derain"
COST = (M.MULT_ADDS_G, M.LATENCY_MS, M.SEARCH_TIME_S, M.PEAK_MEMORY_MB)


# --- presets ----------------------------------------------------------------------------------------------
def paper(task: str, space: str, method: str) -> Overrides:
    """autoderain-spec 3 and 5: search 50 epochs, batch 16 of 64 px patches, W and A half the training pairs
    each, Adam 1e-3 on the weights (cosine, gradient norm clipped at 5), L1; retrain at C=32 with Adam 1e-3,
    steps x0.2 at 30/50/80% (PReNet's [30, 50, 80] of 100 epochs), batch 18 of 100 px patches, ~100 epochs
    of Rain100L's 200 pairs."""
    overrides: Overrides = {
        "loss.name": "pixel", "data.split": "ordered", "data.weight_fraction": 0.5,
        "search.epochs": 50, "search.eval_from_epoch": 1, "search.batch_size": 16, "search.crop_size": 64,
        "search.w_optimizer": "adam", "search.w_lr": 1e-3, "search.w_lr_min": 1e-5, "search.w_weight_decay": 0.0,
        "search.w_schedule": "cosine", "search.grad_clip": 5.0, "search.clip_mode": "norm",
        "retrain.iterations": 25_000, "retrain.batch_size": 18, "retrain.crop_size": 100,
        "retrain.base_width": 32, "retrain.optimizer": "adam", "retrain.lr": 1e-3, "retrain.weight_decay": 0.0,
        "retrain.schedule": "multistep", "retrain.milestones": "0.3,0.5,0.8", "retrain.gamma": 0.2,
        "retrain.grad_clip": None, "retrain.checkpoint_every": 1000,
    }
    if method == RSWS:
        overrides["method.samples"] = 30
    return overrides


def smoke(task: str, space: str, method: str) -> Overrides:
    """autoderain-spec 10 on the built-in images with synthetic rain: C=8, 32 px patches, batch 2, 10 epochs of
    20 steps; retraining at C=8 for 300 iterations of batch 8, 2 test images. MSE instead of L1 (see
    trials/losses.py: L1 learns nothing from sparse streaks in so few steps)."""
    overrides = paper(task, space, method) | {
        "loss.kind": "mse",
        "space.width": 8, "search.epochs": 10, "search.eval_from_epoch": 10, "search.steps_per_epoch": 20,
        "search.batch_size": 2, "search.crop_size": 32, "search.w_lr": 2e-3,
        "retrain.iterations": 300, "retrain.batch_size": 8, "retrain.crop_size": 32, "retrain.base_width": 8,
        "retrain.lr": 2e-3, "retrain.milestones": "0.8", "retrain.checkpoint_every": 100,
        "data.max_test_images": 2,
    }
    if method in (METHOD, DARTS):
        overrides["method.a_lr"] = 3e-3  # a visibly moves in the architecture steps
    if method == METHOD:  # every op gets trained weights before a compares them (NASP trains only prox(a)'s)
        overrides |= {"method.warmup_epochs": 4, "method.warmup_sampling": "uniform"}
    if method == RSWS:
        overrides["method.samples"] = 4
    return overrides


# --- the ablation -----------------------------------------------------------------------------------------
def autoderain(task: str, **_) -> Ablation:
    on_space = {"space.name": SPACE}
    return Ablation("autoderain", "AutoDerain: MDARTS vs softmax DARTS, random search and a hand-designed net",
                    (DERAIN,), (
                        Setting("mdarts", {**on_space, "method.name": METHOD}),
                        Setting("darts", {**on_space, "method.name": DARTS}),
                        Setting("rsws", {**on_space, "method.name": RSWS}),
                        Setting("hand", {**on_space, "method.name": FIXED, "method.genotype": "hand"}),
                        Setting("hinas", {"space.name": HINAS, "method.name": HINAS}),
                    ))


# Significance (Row.compare_with): every other search, and the hand-designed net, against MDARTS.
_ROWS = (Row("mdarts", "AutoDerain (MDARTS)", ("proximal, one path",)),
         Row("darts", "DARTS (softmax)", ("softmax, all ops",), compare_with="mdarts"),
         Row("rsws", "random search + weight sharing", ("random",), compare_with="mdarts"),
         Row("hand", "hand-designed (conv 3x3, SE on)", ("none",), compare_with="mdarts"),
         Row("hinas", "HiNAS space and search", ("HiNAS",), compare_with="mdarts"))


def layout(ablation: str, task: str):
    return task_layout(task, table_id=f"{ablation}_{task}", ablation=ablation,
                       title="AutoDerain: MDARTS against DARTS, random search and a hand-designed net "
                             "(no paper table: only the abstract is public)",
                       rows=_ROWS, mark_columns=("search",), extras=COST)


EXPERIMENTS.register(Experiments(
    name="autoderain", space=SPACE, method=METHOD, presets={"smoke": smoke, "paper": paper},
    ablations={"autoderain": autoderain}, layout=layout, study_methods=(METHOD, DARTS),
))
