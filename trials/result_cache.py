"""Keys of the result cache: a finished trial's results are reused only by a trial whose numbers would be the
same, bit for bit.

Two keys, each a digest of everything the numbers depend on:
- the trial key: the whole config (every section and the seed), the pixels of the data sets, the code that
  computes (``code_digest``), torch's version, the device type and the torch threads. Equal keys: the same
  search, genotype, retraining and scores, so the whole trial is reused.
- the retrain key: the same without the search and method sections, plus the genotype. Retraining seeds
  itself per condition (trials.retrain.build) and samples its own batches, so a genotype found by any method
  (or drawn at random) retrains to the same networks: its retraining and scores are reused.

Left out of both: where and how often a trial checkpoints and reports (``NOT_NUMERIC``), which the resume
tests pin as changing no number; the configured device is replaced by the device the trial resolved.
"""

import functools
import hashlib
import json
from pathlib import Path

import torch

from trials.config import TrialConfig, flatten

TRIAL, RETRAIN = "trial", "retrain"  # what a cached result covers: the whole trial, or its retraining
NOT_NUMERIC = ("device", "retrain.checkpoint_every", "retrain.log_every")
SEARCH_ONLY = ("search.", "method.")  # sections the retraining never reads
CODE_PACKAGES = ("trials", "search_space")  # the code between a config and its numbers


@functools.cache
def code_digest() -> str:
    """A digest of every Python file of the packages that compute a trial (not of git's HEAD: an edited but
    uncommitted tree is other code)."""
    root, digest = Path(__file__).resolve().parents[1], hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _environment(device: torch.device) -> dict:
    return {"code": code_digest(), "torch": torch.__version__, "device": device.type,
            "threads": torch.get_num_threads()}


def _numeric_config(cfg: TrialConfig) -> dict:
    return {k: v for k, v in flatten(cfg).items() if k not in NOT_NUMERIC}


def _pixels(datasets: list[dict]) -> list[dict]:
    """The data sets by their pixels, not by the folder they were read from."""
    return [{k: d[k] for k in ("context", "name", "images", "digest")} for d in datasets]


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:40]


def trial_key(cfg: TrialConfig, datasets: list[dict], device: torch.device) -> str:
    return _digest({"kind": "trial", "config": _numeric_config(cfg), "data": _pixels(datasets),
                    **_environment(device)})


def retrain_key(cfg: TrialConfig, genotype: dict, datasets: list[dict], device: torch.device) -> str:
    config = {k: v for k, v in _numeric_config(cfg).items() if not k.startswith(SEARCH_ONLY)}
    return _digest({"kind": "retrain", "config": config, "genotype": genotype, "data": _pixels(datasets),
                    **_environment(device)})
