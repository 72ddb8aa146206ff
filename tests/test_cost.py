"""The cost a trial reports (Lindauer & Hutter's checklist): device-hours per phase and the environment tags."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trials import metric_names as M
from trials.device import device_hours, environment_tags, peak_rss_mb, reset_peak_memory


def test_device_hours_are_gpu_hours_on_a_gpu_and_core_hours_on_a_cpu():
    assert device_hours(7200, "cuda", threads=16) == 2.0  # one GPU per trial, whatever the host threads
    assert device_hours(7200, "cpu", threads=4) == 8.0
    assert device_hours(1800, "cpu", threads=1) == 0.5


def test_environment_tags_name_the_hardware_versions_and_the_flags_the_trial_sets():
    tags = environment_tags(torch.device("cpu"), deterministic=True)
    assert tags[M.TAG_DEVICE_HOURS_UNIT] == "cpu-core" and tags[M.TAG_HARDWARE]
    assert tags[M.TAG_TORCH_VERSION] == torch.__version__
    assert tags[M.TAG_CUDA_VERSION] == (torch.version.cuda or "none")
    assert "cudnn.benchmark=False" in tags[M.TAG_DETERMINISM]
    assert "cudnn.benchmark=True" in environment_tags(torch.device("cpu"), deterministic=False)[M.TAG_DETERMINISM]


def test_a_reused_worker_reports_each_trials_own_peak_memory_not_an_earlier_ones():
    # Ray reuses a worker process for several trials: a small trial after a large one must not inherit its peak.
    if not sys.platform.startswith("linux") or not Path("/proc/self/clear_refs").exists():
        pytest.skip("the resident peak can be reset on Linux only")
    large = np.ones(400 * 2**20 // 8)  # 400 MiB, touched
    before_reset = peak_rss_mb()
    del large
    reset_peak_memory(torch.device("cpu"))
    assert peak_rss_mb() < before_reset - 300
