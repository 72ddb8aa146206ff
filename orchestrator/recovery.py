"""A disk that fills during an ablation (issue 31): the run stops once, cleanly, naming the folder; after space
is freed, ``--resume`` continues every trial from its last whole checkpoint.

Stopping: a trial that meets ENOSPC reports it and waits; the driver then stops the whole ablation as Ctrl-C
does (the other trials would meet the same disk), so every unfinished trial keeps its last checkpoint and is
resumable. Retrying on a full disk, as Ray would, only writes more broken files.

Resuming: Ray uploads its experiment state with a plain copy, so a full disk can leave it cut short, and
Ray then restores an empty experiment. When that file does not read, the ablation starts a new Tune state
in the same folder and each trial continues from the newest checkpoint in its old trial folders that reads
(``trials.checkpoint``'s files are written whole or not at all). Finished trials restore their final
checkpoint and only log again, so each (setting, seed) keeps exactly one finished result.
"""

import errno
import json
import os
import shutil
import signal
import threading
from pathlib import Path

from ray.tune import Callback

from trials import checkpoint
from trials import metric_names as M

PHASE_DISK_FULL = "disk_full"  # a trial's last report when its disk filled: it waits to be stopped
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# How the same condition reads where no errno travels: pyarrow's copy, SQLite, torch's zip writer.
FULL_TEXTS = ("No space left on device", "database or disk is full", "Disk quota exceeded", "file write failed")
STATE_PATTERN = "experiment_state-*.json"
CUT_SHORT = ".cut-short"  # the suffix a state file that does not read is kept under
NEARLY_FULL_MB = 16.0  # a folder with less free space counts as full (torch's write error names no cause)


def is_disk_full(err: BaseException | None, folders: tuple[Path, ...] = ()) -> bool:
    """Whether ``err``, or an error it was raised from, says that a disk (or a quota) is full, or, for torch's
    zip writer, whose error names no cause ("unexpected pos 576 vs 534"), whether one of ``folders`` it may
    have been writing to is (nearly) full."""
    if err is not None and any(free_mb(folder) < NEARLY_FULL_MB for folder in folders):
        return True
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in FULL_ERRNOS:
            return True
        if says_disk_full(str(err)):
            return True
        err = err.__cause__ or err.__context__
    return False


def says_disk_full(text: str) -> bool:
    return any(phrase in text for phrase in FULL_TEXTS)


def free_mb(folder: Path | str) -> float:
    existing = next((p for p in (Path(folder), *Path(folder).parents) if p.exists()), Path("/"))
    return shutil.disk_usage(existing).free / 2**20


class DiskFullStop:
    """The driver's side: the first disk-full report stops the ablation as Ctrl-C does, once, and names the
    fullest of the folders it writes to (Ray's results, the MLflow store)."""

    def __init__(self):
        self.message, self.folders, self._stopping = "", [], threading.Event()

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    def stop(self, interrupt: bool = True) -> None:
        """``interrupt``: stop Tune's run as Ctrl-C does (once it has ended, only the message is set)."""
        if self._stopping.is_set():
            return
        folder = min(self.folders or ["."], key=free_mb)
        self.message = (f"no space left on the device of {folder} ({free_mb(folder):.0f} MB free); the ablation "
                        f"stopped, and its finished trials and last whole checkpoints are kept")
        self._stopping.set()
        if interrupt:
            os.kill(os.getpid(), signal.SIGINT)  # Tune's own clean stop: trials keep their checkpoints

    def watch(self, folders: list[str]) -> None:
        """Ray's driver logs a failed upload of its state (a multi-line traceback every 10 s) and goes on; a
        full disk there stops the ablation too, and the console says so in one line instead."""
        import logging  # deferred: only an ablation's driver watches

        self.folders = folders

        def on_record(record) -> bool:
            if not is_disk_full(record.exc_info[1] if record.exc_info else None) and \
                    not says_disk_full(record.getMessage()):
                return True
            self.stop()
            return False

        for name in ("ray.train._internal.syncer", "ray.tune.execution.experiment_state"):
            logging.getLogger(name).addFilter(on_record)
        # MLflow logs a full store's SQL error with its statement before raising it: the raise is what counts.
        logging.getLogger("mlflow.store.db.utils").addFilter(lambda record: not says_disk_full(record.getMessage()))
        # Tune's "Stop signal received (e.g. via SIGINT/Ctrl+C)" would blame a Ctrl-C nobody pressed.
        logging.getLogger("ray.tune.tune").addFilter(
            lambda record: not (self.stopped and "Stop signal received" in record.getMessage()))


def state_is_whole(experiment_path: str) -> bool:
    """Whether Ray's newest experiment state file reads (a local folder; cloud storage is Ray's to check). None
    written (a driver stopped in its first seconds, or a state set aside): nothing Tune could restore."""
    newest = newest_state(Path(experiment_path))
    if newest is None:
        return False
    try:
        json.loads(newest.read_text())
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def newest_state(folder: Path) -> Path | None:
    return max(folder.glob(STATE_PATTERN), default=None)  # Ray names them by start time


def set_cut_short_aside(experiment_path: str) -> None:
    """Ray's state files keep their names' suffix: a later restore must not read an old one."""
    folder = Path(experiment_path)
    for path in [*folder.glob(STATE_PATTERN), *folder.glob("basic-variant-state-*.json")]:
        path.rename(path.with_name(path.name + CUT_SHORT))


def trial_key(setting: str, seed: int) -> str:
    return f"{setting}/seed{seed}"


def last_whole_checkpoints(experiment_path: str) -> dict[str, str]:
    """{trial key: the newest run folder, among its trial folders' live ``run`` and Tune's ``checkpoint_*``
    copies, whose checkpoint reads}."""
    newest: dict[str, tuple[float, str]] = {}
    for params_file in Path(experiment_path).glob("*/params.json"):
        try:
            params = json.loads(params_file.read_text())
            key = trial_key(params["setting"], int(params["seed"]))
        except (ValueError, KeyError, TypeError):
            continue  # a params file cut short by the same disk: its trial has no readable checkpoint either
        for run_dir in [params_file.parent / "run", *params_file.parent.glob("checkpoint_*")]:
            stamp = whole_checkpoint_time(run_dir)
            if stamp is not None and stamp > newest.get(key, (-1.0, ""))[0]:
                newest[key] = (stamp, str(run_dir))
    return {key: folder for key, (_, folder) in newest.items()}


def whole_checkpoint_time(run_dir: Path) -> float | None:
    """The modification time of ``run_dir``'s checkpoint when it reads (a finished one with its metrics)."""
    path = run_dir / checkpoint.CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        state = checkpoint.peek(run_dir)
    except checkpoint.CheckpointError:
        return None
    if state.get("phase") == M.PHASE_DONE and not (run_dir / "metrics.json").is_file():
        return None
    return path.stat().st_mtime


DISK_FULL = DiskFullStop()  # one per driver process, as the stop it makes (tuner.pkl pickles the callback below)


class StopOnFullDisk(Callback):
    """Tune's side: a trial's disk-full report (or error) stops the ablation through ``DISK_FULL``."""

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if result.get("phase") == PHASE_DISK_FULL:
            DISK_FULL.stop()

    def on_trial_error(self, iteration, trials, trial, **info):
        try:
            error = trial.get_error() or ""  # the error's text
        except Exception:  # noqa: BLE001 - an error file the same disk cut short
            error = ""
        if says_disk_full(error):
            DISK_FULL.stop()
