"""The cost a trial reports (Lindauer & Hutter's checklist): device-hours per phase and the environment tags."""

import torch

from trials import metric_names as M
from trials.device import device_hours, environment_tags


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
