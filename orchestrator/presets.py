"""Presets, in one place: dotted overrides on top of TrialConfig's defaults (the paper's settings)."""

from search_space import SpaceConfig
from trials.config import TrialConfig, with_overrides

# smoke: the whole pipeline on the built-in images in well under a minute of 2-core CPU per trial,
# so that a full ablation (15 trials) fits in a few minutes. Tiny widths, few epochs and iterations.
SMOKE = {
    "space.layers": 2, "space.nodes": 3, "space.base_width": 4, "space.stem_width": 8, "space.head_width": 8,
    "search.epochs": 4, "search.warmup_epochs": 1, "search.eval_from_epoch": 2, "search.steps_per_epoch": 4,
    "search.batch_size": 4, "search.crop_size": 32, "search.rsws_samples": 30,
    "search.a_lr": 0.02,  # so that alpha visibly moves in a dozen architecture steps
    "retrain.iterations": 80, "retrain.batch_size": 8, "retrain.crop_size": 32, "retrain.base_width": 8,
    "retrain.checkpoint_every": 20,
    "data.max_test_images": 2,
}

# paper: Section 4.1. Denoising: L=3, B=4, f=10, batch 8, 400k retrain iterations on BSD500.
# SR: L=2, B=3, batch 24, 600k retrain iterations on DIV2K, tested on the five benchmarks.
PAPER_SR = {
    "space.layers": 2, "space.nodes": 3, "search.batch_size": 24, "retrain.iterations": 600_000,
    "search.pixel_loss": "mse",
}

PRESETS = ("smoke", "paper")


def preset_config(name: str, task: str = "denoise", scale: int = 4) -> TrialConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    space = SpaceConfig(task=task, in_channels=3 if task == "sr" else 1, scale=scale if task == "sr" else 1)
    cfg = TrialConfig(space=space)
    overrides: dict = {}
    if task == "sr":
        overrides |= PAPER_SR | {"retrain.scales": (scale,)}
    if name == "smoke":
        overrides |= SMOKE
        if task == "sr":
            # the 256 px built-in images give 32 px LR crops at x4 only up to 64 px; keep crops small
            overrides |= {"search.crop_size": 16, "retrain.crop_size": 16}
    return with_overrides(cfg, overrides)
