"""On a CUDA GPU (skipped without one; run by bench/gpu.sh): one smoke trial per task, a supernet step that
agrees with the CPU's, bf16 losses close to fp32's, and search steps with no host synchronisation.

Configs come from orchestrator/presets.py, which imports neither Ray nor MLflow (asserted below): the GPU
machine has only PyTorch, numpy, pandas, pyarrow, scikit-image, matplotlib and pytest.
"""

import math
import sys
import warnings

import pytest
import torch

from orchestrator.presets import preset_config
from trials import metric_names as M
from trials.pipeline import run_trial
from trials.search import search_step
from trials.workload import prepare

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CUDA = torch.device("cuda")
SMOKE = {"search.epochs": 2, "search.eval_from_epoch": 2, "search.steps_per_epoch": 4, "retrain.iterations": 40,
         "retrain.checkpoint_every": 20, "data.max_test_images": 1, "device": "cuda"}
# (task, overrides): every task once, AutoDerain's space and MDARTS method on deraining
TRIALS = [("denoise", {"task.search_sigmas": "30", "task.sigmas": "30"}), ("sr", {}),
          ("derain", {"space.name": "autoderain", "method.name": "mdarts", "method.warmup_epochs": 1})]


def test_configs_need_neither_ray_nor_mlflow():
    preset_config("smoke", task="denoise")
    assert not {"ray", "mlflow"} & set(sys.modules)


@pytest.mark.parametrize(("task", "overrides"), TRIALS, ids=[t for t, _ in TRIALS])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_smoke_trial_on_cuda(task, overrides, precision, tmp_path):
    cfg = preset_config("smoke", task=task, overrides={**SMOKE, **overrides, "search.precision": precision,
                                                       "retrain.precision": precision})
    metrics = run_trial(cfg, tmp_path)
    psnr = [v for k, v in metrics.items() if k.startswith("psnr_")]
    assert psnr and all(math.isfinite(v) and v > 10 for v in psnr), metrics
    assert metrics[M.PEAK_CUDA_MB] > 0
    assert (tmp_path / "genotype.json").exists()


def _method(precision: str, device: torch.device, task: str = "denoise"):
    from trials.pipeline import make_method

    cfg = preset_config("paper", task=task, overrides={"search.precision": precision, "device": device.type})
    return cfg, prepare(cfg), make_method(cfg, device)


def _step_loss_and_grads(precision: str, device: torch.device):
    cfg, work, method = _method(precision, device)
    x, y = work.train_w.batch(0)
    net = method.supernet
    from trials.device import autocast

    with autocast(device, precision):
        out = net(x.to(device))
    loss = method.loss(out, y.to(device), "agreement")
    loss.backward(inputs=net.weight_parameters())
    return float(loss), [p.grad.detach().cpu() for p in net.weight_parameters()]


def test_one_supernet_step_on_cuda_agrees_with_the_cpu():
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # compare fp32 with fp32
    try:
        cpu_loss, cpu_grads = _step_loss_and_grads("fp32", torch.device("cpu"))
        gpu_loss, gpu_grads = _step_loss_and_grads("fp32", CUDA)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-4)
    for a, b in zip(cpu_grads, gpu_grads, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-5)


def test_bf16_loss_is_close_to_fp32s_on_cuda():
    loss32, _ = _step_loss_and_grads("fp32", CUDA)
    loss16, grads16 = _step_loss_and_grads("bf16", CUDA)
    assert loss16 == pytest.approx(loss32, rel=0.02)
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads16)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_search_step_does_not_synchronise_with_the_host(precision):
    _, work, method = _method(precision, CUDA)
    epoch = method.config.warmup_epochs  # an architecture step and a weight step
    search_step(method, work, epoch, 0, CUDA)  # warm-up: lazy initialisation may synchronise
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            search_step(method, work, epoch, 1, CUDA)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message).lower()]
    assert not syncs, syncs
    assert method.loss_log.read().numel() == 0  # the step's losses, checked finite in one read
