"""The GPU path of the hot loop, as far as the CPU shows it: the CPU-only depthwise kernels never take a
tensor of another device (meta here, CUDA on a GPU machine), dtype or an autocast region; bf16 autocast keeps
the loss, BatchNorm statistics, weights and gradients in fp32 and stays close to fp32; the loss log checks
every loss in one read and names the step that went non-finite; precision keys are checked."""

import math

import pytest
import torch
import torch.nn.functional as F

from orchestrator.presets import preset_config
from search_space.depthwise import depthwise_conv, fanned_depthwise_conv, kernel_available
from trials.device import PRECISIONS, autocast, configure_backends, to_device
from trials.losses import LossLog, NonFiniteLossError, checked_loss, high_frequency, restoration_loss
from trials.pipeline import make_method
from trials.search import search_step
from trials.workload import prepare


def _inputs(device: str, channels: int = 16, fan: int = 1):
    x = torch.rand(2, channels, 12, 12, device=device).contiguous(memory_format=torch.channels_last)
    weight = torch.rand(channels * fan, 1, 5, 5, device=device, requires_grad=True)
    return x, weight


@pytest.mark.skipif(not kernel_available(), reason="no C compiler: the depthwise kernel is not built")
def test_the_c_kernel_takes_cpu_fp32_and_pytorch_takes_every_other_device():
    x, weight = _inputs("cpu")
    assert type(depthwise_conv(x, weight, (2, 2)).grad_fn).__name__ == "_Depthwise5x5Backward"
    x, weight = _inputs("meta")
    out = depthwise_conv(x, weight, (2, 2))
    assert type(out.grad_fn).__name__ == "ConvolutionBackward0" and out.device.type == "meta"
    out.sum().backward()  # PyTorch's own backward runs on the meta device
    assert weight.grad.shape == weight.shape and weight.grad.device.type == "meta"


def test_the_fanned_cpu_backward_takes_cpu_fp32_only():
    x, weight = _inputs("cpu", fan=2)
    assert type(fanned_depthwise_conv(x, weight, (2, 2)).grad_fn).__name__ == "_FannedDepthwiseConvBackward"
    x, weight = _inputs("meta", fan=2)
    out = fanned_depthwise_conv(x, weight, (2, 2))
    assert type(out.grad_fn).__name__ == "ConvolutionBackward0" and out.shape == (2, 32, 12, 12)


@pytest.mark.parametrize("fan", [1, 2])
def test_under_cpu_autocast_the_depthwise_conv_is_pytorchs_in_bf16(fan):
    x, weight = _inputs("cpu", fan=fan)
    with autocast(torch.device("cpu"), "bf16"):
        out = fanned_depthwise_conv(x, weight, (2, 2))
    assert out.dtype == torch.bfloat16 and type(out.grad_fn).__name__ == "ConvolutionBackward0"
    reference = F.conv2d(x, weight, None, 1, 2, 1, x.shape[1])
    torch.testing.assert_close(out.float(), reference, rtol=2e-2, atol=2e-2)
    out.float().sum().backward()
    assert weight.grad.dtype == torch.float32


def test_fp32_opens_no_autocast_region_and_bad_precisions_are_refused():
    with autocast(torch.device("cpu"), "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    with autocast(torch.device("cpu"), "bf16"):
        assert torch.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        autocast(torch.device("cpu"), "fp16")
    assert PRECISIONS == ("fp32", "bf16")


@pytest.mark.parametrize("key", ["search.precision", "retrain.precision"])
def test_config_refuses_an_unknown_precision(key):
    cfg = preset_config("smoke")
    assert cfg.search.precision == cfg.retrain.precision == "fp32"
    with pytest.raises(ValueError, match=rf"{key} must be one of fp32, bf16, got 'fp16'"):
        preset_config("smoke", overrides={key: "fp16"})


def test_cpu_batches_stay_as_they_are_and_cudnn_autotunes_only_without_determinism():
    batch = (torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4))
    moved = to_device(batch, torch.device("cpu"))
    assert all(a is b for a, b in zip(moved, batch, strict=True))
    before = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        configure_backends(False)
        assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
        configure_backends(True)
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before


def test_hfen_normalisation_without_a_host_condition_gives_the_old_numbers():
    x = torch.rand(2, 3, 16, 16)
    edges = high_frequency(x)
    old = high_frequency_with_host_condition(x)
    assert torch.equal(edges, old)
    flat = torch.zeros(1, 3, 16, 16)  # no edges: peak 0, left undivided
    assert torch.equal(high_frequency(flat), high_frequency_with_host_condition(flat))
    assert not high_frequency(flat).any()


def high_frequency_with_host_condition(x):
    """The formula before: divided by the peak only ``if peak > 0`` (a host synchronisation)."""
    channels = x.shape[1]
    coords = torch.arange(5, dtype=x.dtype) - 2
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    blur = (torch.outer(g, g) / torch.outer(g, g).sum()).expand(channels, 1, 5, 5)
    laplacian = torch.tensor(((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))).expand(1, channels, 3, 3)
    edges = F.conv2d(F.conv2d(x, blur, groups=channels), laplacian, padding=1)
    peak = edges.max()
    return edges / peak if peak > 0 else edges


def test_loss_log_checks_every_recorded_loss_in_one_read_and_names_the_first_bad_step():
    log, pred, target = LossLog(), torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16)
    good = checked_loss(restoration_loss, pred, target, "step 1", log)
    bad_pred = pred.clone()
    bad_pred[0, 0, 0, 0] = float("nan")
    checked_loss(restoration_loss, bad_pred, target, "step 2", log)  # recorded, not raised yet
    checked_loss(restoration_loss, bad_pred * math.inf, target, "step 3", log)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss nan in step 2 \(pixel=nan, ssim=\S+\)"):
        log.read([good.detach()])
    assert log.read().numel() == 0  # read means forgotten
    checked_loss(restoration_loss, pred, target, "step 4", log)
    values = log.read([good.detach()])
    assert values.device.type == "cpu" and values.tolist() == [good.item()]
    with pytest.raises(NonFiniteLossError, match="non-finite loss nan in at once"):
        checked_loss(restoration_loss, bad_pred, target, "at once")  # without a log: checked at once


def _one_step(precision: str):
    cfg = preset_config("smoke", task="denoise", overrides={"search.precision": precision, "device": "cpu"})
    work = prepare(cfg)
    method = make_method(cfg, torch.device("cpu"))
    loss = search_step(method, work, cfg.method.warmup_epochs, 0, torch.device("cpu"))  # an A step and a W step
    return method, float(method.loss_log.read([loss])[0])


def test_bf16_search_step_keeps_fp32_state_and_a_loss_close_to_fp32s():
    torch.set_num_threads(1)
    method32, loss32 = _one_step("fp32")
    method16, loss16 = _one_step("bf16")
    assert math.isfinite(loss16) and abs(loss16 - loss32) <= 0.02 * abs(loss32), (loss16, loss32)
    net = method16.supernet
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in net.parameters())
    norms = [(a, b) for a, b in zip(method32.supernet.modules(), net.modules(), strict=True)
             if isinstance(a, torch.nn.BatchNorm2d) and a.track_running_stats]
    assert norms, "the supernet has BatchNorm layers with running statistics"
    for fp32, bf16 in norms:
        assert bf16.running_mean.dtype == torch.float32 and bf16.running_var.dtype == torch.float32
        torch.testing.assert_close(bf16.running_mean, fp32.running_mean, rtol=0.05, atol=0.02)
        torch.testing.assert_close(bf16.running_var, fp32.running_var, rtol=0.05, atol=0.02)


def test_bf16_mdarts_step_on_autoderain_gives_fp32_architecture_gradients():
    """AutoDerain's discrete gate recomputes the candidates in backward, under the forward's autocast state."""
    torch.set_num_threads(1)
    cfg = preset_config("smoke", task="derain", overrides={"space.name": "autoderain", "method.name": "mdarts",
                                                           "search.precision": "bf16", "device": "cpu"})
    work, method = prepare(cfg), make_method(cfg, torch.device("cpu"))
    before = method.supernet.a_conv.detach().clone()
    loss = search_step(method, work, cfg.method.warmup_epochs, 0, torch.device("cpu"))
    assert math.isfinite(float(method.loss_log.read([loss])[0]))
    a = method.supernet.a_conv
    assert a.dtype == torch.float32 and not torch.equal(a.detach(), before)  # the architecture step moved a
