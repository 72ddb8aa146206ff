"""The pipeline's checkpoint: one file, written atomically, read with ``torch.load(weights_only=True)``.

It holds tensors, numbers, strings, lists and dicts only, so loading it runs no pickled code.
Data order needs no saving: every batch and every RSWS draw is a pure function of (seed, step).
"""

import os
import random
import tempfile
import uuid
from pathlib import Path

import torch

CHECKPOINT_NAME = "checkpoint.pt"


def save(state: dict, run_dir: Path) -> Path:
    return atomic_save({**state, "rng": rng_state()}, run_dir / CHECKPOINT_NAME)


def atomic_save(obj: dict, path: Path) -> Path:
    """``torch.save`` to a temporary file, fsync, then rename: a kill mid-write, or a disk that fills, leaves the
    previous file intact (never a truncated or 0-byte one where a whole one was)."""
    # A unique name (not mkstemp, whose 0600 mode the renamed file would keep): a file of the process's umask.
    tmp = scratch_folder(path.parent) / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        torch.save(obj, tmp)
        with open(tmp, "rb") as written:  # on the disk before the rename: a crash leaves the old file or the new
            os.fsync(written.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def scratch_folder(folder: Path) -> Path:
    """Where a file bound for ``folder`` is written before its rename: the system's temporary folder when it is
    on the same file system (the rename stays atomic), else ``folder`` itself. Not inside the trial folder
    when it can be avoided: Ray syncs that folder while the trial runs, and a file that vanishes during the
    sync fails it with a traceback on the driver's console."""
    scratch = Path(tempfile.gettempdir())
    try:
        same_device = os.stat(scratch).st_dev == os.stat(folder).st_dev
    except OSError:
        same_device = False
    return scratch if same_device and os.access(scratch, os.W_OK) else folder


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: restarting the trial from it would meet it again."""


def load(run_dir: Path) -> dict | None:
    """The trial's state, with the random generators set as they were when it was saved."""
    state = peek(run_dir)
    if state is not None:
        restore_rng(state.pop("rng"))
    return state


def peek(run_dir: Path) -> dict | None:
    """The saved state as it is (None where there is none), touching no random generator."""
    path = run_dir / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, corrupt or foreign files all get one clear message
        raise CheckpointError(f"{path} cannot be read as this project's checkpoint ({type(err).__name__}); it was "
                              f"not changed: move it away to start the trial over, or resume from a copy that "
                              f"reads") from None


def rng_state() -> dict:
    version, internal, gauss = random.getstate()
    return {"python": [version, list(internal), gauss], "torch": torch.get_rng_state()}


def restore_rng(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"])
