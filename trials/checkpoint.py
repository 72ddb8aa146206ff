"""The pipeline's checkpoint: one file, written atomically, read with ``torch.load(weights_only=True)``.

It holds tensors, numbers, strings, lists and dicts only, so loading it runs no pickled code.
Data order needs no saving: every batch and every RSWS draw is a pure function of (seed, step).
"""

import os
import random
from pathlib import Path

import torch

CHECKPOINT_NAME = "checkpoint.pt"


def save(state: dict, run_dir: Path) -> Path:
    return atomic_save({**state, "rng": rng_state()}, run_dir / CHECKPOINT_NAME)


def atomic_save(obj: dict, path: Path) -> Path:
    """``torch.save`` to a temporary file, then rename: a kill mid-write leaves the previous file intact.

    The temporary file sits beside the folder, not in it: Tune copies the run folder as the trial's
    checkpoint, and a file that vanishes during the copy fails it with a traceback."""
    tmp = path.parent.parent / f".{path.parent.name}.{path.name}.tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def load(run_dir: Path) -> dict | None:
    path = run_dir / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, corrupt or foreign files all get one clear message
        raise ValueError(f"{path} cannot be read as this project's checkpoint ({type(err).__name__}); it was not "
                         f"changed: move it away to start the trial over, or resume from a copy that reads") from None
    restore_rng(state.pop("rng"))
    return state


def rng_state() -> dict:
    version, internal, gauss = random.getstate()
    return {"python": [version, list(internal), gauss], "torch": torch.get_rng_state()}


def restore_rng(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"])
