"""Is there room for the ablation? Checked before Ray starts: a full disk mid-run fails every trial's
checkpoint and leaves a run that cannot resume (issue 31).

The estimate is per trial: its run folder holds a checkpoint of about three times the supernet's weights
(weights and the optimiser's moments), Tune keeps two more copies of that folder, and the retrained networks
go to the run folder and, twice (file and model), to the MLflow artifacts. The supernet is built on PyTorch's
meta device, so the count costs no memory.
"""

import shutil
from pathlib import Path

from orchestrator.memory import footprint
from trials.config import TrialConfig

COPIES = 3 * 3 + 3  # checkpoint ~3x the weights, in 3 copies; networks (~1x each) in 3 places
MARGIN_MB = 100.0  # pictures, logs, MLflow's database, Ray's session files


def supernet_mb(cfg: TrialConfig) -> float:
    return footprint(cfg).weights_mb


def needed_mb(configs: list[TrialConfig], trials_per_config: int) -> float:
    """About how much disk the trials of these configs (one per setting) need."""
    return MARGIN_MB + sum(COPIES * supernet_mb(cfg) * trials_per_config for cfg in configs)


def check(folders: list[Path], need_mb: float) -> None:
    """A ValueError naming the first folder (or the nearest existing parent) with less free space than
    ``need_mb``; folders on one file system are counted once, with the whole need."""
    seen = set()
    for folder in folders:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        usage = shutil.disk_usage(existing)
        device = existing.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        free_mb = usage.free / 2**20
        if free_mb < need_mb:
            raise ValueError(f"{existing} has {free_mb:.0f} MB free, and this ablation needs about {need_mb:.0f} MB "
                             f"there (checkpoints, retrained networks, MLflow artifacts); free some space, or put "
                             f"the runs on a larger disk with --storage and --tracking-uri")
