"""Retraining the derived network from scratch per condition, and its test evaluation (hinas-spec section 9)."""

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from search_space import SPACES, Genotype, count_parameters
from trials import metric_names as M
from trials.complexity import latency_ms, mult_adds
from trials.config import TrialConfig, retrain_input_crop
from trials.data import ImageSet, PatchSampler
from trials.device import autocast, full_precision, to_device
from trials.evaluate import Evaluation, evaluate_model
from trials.losses import LossLog, checked_loss
from trials.metrics import Protocol, evaluate
from trials.optim import clipped_step, make_optimizer, multistep_factor
from trials.references import Reference
from trials.workload import Workload, load_tests


def conditions(cfg: TrialConfig) -> list[int]:
    """The task's conditions (noise levels, scales, ...): one retraining each; the warm start's source first."""
    ordered = list(cfg.components.task.conditions())
    source = cfg.retrain.warm_start_from
    return ordered if source is None else [source] + [c for c in ordered if c != source]


def warm_start(net: torch.nn.Module, source_state: dict) -> int:
    """Copies every weight of ``source_state`` whose name and shape ``net`` shares (between SR scales: all
    but the upsampler's); returns how many tensors were copied."""
    own = net.state_dict()
    shared = {k: v for k, v in source_state.items() if k in own and own[k].shape == v.shape}
    net.load_state_dict(shared, strict=False)
    return len(shared)


def build(genotype: Genotype, cfg: TrialConfig, condition: int, device: torch.device):
    torch.manual_seed(cfg.seed * 1000 + condition)  # same init on a fresh start and in any process
    io = cfg.components.task.io(condition)
    net = SPACES.get(genotype.space).network(genotype, io, cfg.retrain.base_width).to(device)
    r = cfg.retrain
    if r.start_at_skip:
        start_at_skip(net)
    return net, make_optimizer(r.optimizer, net.parameters(), r.lr, r.momentum, r.betas, r.weight_decay)


def start_at_skip(net: torch.nn.Module) -> bool:
    """Zeroes the layer whose output is added to the network's skip path, so that the untrained network is its
    skip (the input, or bicubic upscaling); False (nothing changed) for a network without residual learning."""
    layer = net.skip_output_layer()
    if layer is None:
        return False
    with torch.no_grad():
        layer.weight.zero_()
        if layer.bias is not None:
            layer.bias.zero_()
    return True


def learning_rate(cfg: TrialConfig, iteration: int) -> float:
    r = cfg.retrain
    if r.schedule == "multistep":
        return r.lr * multistep_factor(iteration, r.iterations, r.milestones, r.gamma)
    return r.lr * (1 - iteration / r.iterations) ** r.poly_power


def train_sampler(work: Workload, cfg: TrialConfig, condition: int) -> PatchSampler:
    return cfg.components.task.sampler(work.search_images, retrain_input_crop(cfg, condition), cfg.retrain.batch_size,
                                       cfg.seed, f"retrain-{condition}", condition)


def log_interval(cfg: TrialConfig) -> int:
    """Iterations between progress reports: ``retrain.log_every``, else about 20 per condition (<= 1000)."""
    r = cfg.retrain
    return r.log_every or max(1, min(1000, r.iterations // 20))


def train(net, optimizer, sampler: PatchSampler, cfg: TrialConfig, start: int, device: torch.device,
          on_checkpoint: Callable[[int], None], condition: int,
          on_progress: Callable[[int, float], None] | None = None) -> None:
    """Iterations ``start``..end on the configured schedule; ``on_checkpoint(next_iteration)`` every
    checkpoint_every, ``on_progress(iterations_done, mean_loss_since_last)`` every ``log_interval``."""
    r = cfg.retrain
    loss_fn = cfg.components.build_loss()
    parameters = list(net.parameters())
    every, losses, log = log_interval(cfg), [], LossLog()
    net.train()
    for it in range(start, r.iterations):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, it)
        x, y = to_device(sampler.batch(it), device)
        with autocast(device, r.precision):
            pred = net(x)
        with full_precision(device.type):
            loss = checked_loss(loss_fn, pred.float(), y, f"retraining for condition {condition}, iteration {it + 1}",
                                log)
        clipped_step(optimizer, loss, parameters, r.grad_clip, r.clip_mode)
        losses.append(loss.detach())
        # Host synchronisations only at reports, checkpoints and the end: each reads the losses since the
        # last one and checks them (the checkpoint never holds weights trained on a non-finite loss).
        report = on_progress is not None and ((it + 1) % every == 0 or it + 1 == r.iterations)
        checkpointed = (it + 1) % r.checkpoint_every == 0 and it + 1 < r.iterations
        if report:
            on_progress(it + 1, float(log.read(losses).mean()))
            losses = []
        elif checkpointed or it + 1 == r.iterations:
            log.read()
        if checkpointed:
            on_checkpoint(it + 1)


def test_protocol(cfg: TrialConfig, condition: int) -> Protocol:
    """How test outputs of ``condition`` are scored: the task's channels and border, with ``eval``'s choices."""
    task_protocol = cfg.components.task.protocol(condition)
    return replace(task_protocol, quantize=cfg.eval.quantize, gray_images=cfg.eval.gray_images,
                   round_y=cfg.eval.round_y)


def protocol_summary(cfg: TrialConfig) -> str:
    """The trial's evaluation protocol in one line, for the ``protocol`` tag and table captions: scoring, how
    LR inputs are made where a task has scales, and the task's own notes (the noise model)."""
    task = cfg.components.task
    scorings = dict.fromkeys(test_protocol(cfg, c).describe() for c in task.conditions())
    scales = [c for c in task.conditions() if task.io(c).scale > 1]
    shaves = {test_protocol(cfg, c).shave for c in task.conditions()}
    if scales and len(shaves) > 1 and shaves == {task.io(c).scale for c in scales}:
        scorings = {test_protocol(cfg, scales[0]).describe().replace(f"shave {scales[0]} px", "shave = scale"): None}
    parts = list(scorings) + ([f"LR by {cfg.data.downsampling} bicubic"] if scales else [])
    return "; ".join(parts + list(task.protocol_notes()))


def evaluate_condition(net, work: Workload, cfg: TrialConfig, condition: int) -> dict[str, float]:
    """Test PSNR/SSIM of one condition on every test set, inference time per image (ms), and the net's
    parameters (M), Mult-Adds (G, at the task's size: a 1280x720 output, deraining 256x256) and latency (ms,
    measured at a 256x256 input)."""
    task, out = cfg.components.task, {}
    io = task.io(condition)
    results = network_evaluations(net, cfg, work.test_sets, condition, cfg.retrain.eval_tile)
    for name, result in results.items():
        key = task.metric_condition(name, condition)
        out[M.psnr(key)], out[M.ssim(key)] = result.psnr, result.ssim
    out[M.INFERENCE_MS] = 1000 * sum(r.seconds_per_image for r in results.values()) / len(results)
    out[M.PARAMS_M] = count_parameters(net) / 1e6
    out[M.MULT_ADDS_G] = mult_adds(net, io.in_channels, task.complexity_input(condition)) / 1e9
    out[M.LATENCY_MS] = latency_ms(net, io.in_channels)
    for metric in (M.PARAMS_M, M.MULT_ADDS_G, M.LATENCY_MS):
        out[M.per_condition(metric, task.condition_key(condition))] = out[metric]
    return out


def network_evaluations(net, cfg: TrialConfig, tests: dict[str, ImageSet], condition: int,
                        tile: int | None = None) -> dict[str, Evaluation]:
    """The network's mean PSNR/SSIM (and seconds per image) per test set at ``condition``, on the trial's test
    pairs under its test protocol."""
    task = cfg.components.task
    protocol, scale = test_protocol(cfg, condition), task.io(condition).scale
    return {name: evaluate_model(net, task.test_pairs(image_set, condition, cfg.seed), protocol, scale,
                                 tile=tile, gray_files=image_set.gray_files) for name, image_set in tests.items()}


def network_scores(net, cfg: TrialConfig, tests: dict[str, ImageSet], condition: int,
                   tile: int | None = None) -> dict[str, tuple[float, float]]:
    """(PSNR, SSIM) per test set of ``network_evaluations``."""
    return {name: (r.psnr, r.ssim) for name, r in network_evaluations(net, cfg, tests, condition, tile).items()}


def reference_scores(cfg: TrialConfig, reference: Reference, tests: dict[str, ImageSet],
                     condition: int) -> dict[str, tuple[float, float]]:
    """(PSNR, SSIM) per test set of ``reference`` at ``condition``, on the test pairs and under the protocol
    a trial's network is scored with (the degraded input itself scored as it is, ``Reference.raw``)."""
    task = cfg.components.task
    protocol, scale = test_protocol(cfg, condition), task.io(condition).scale
    out = {}
    for name, image_set in tests.items():
        pairs = task.test_pairs(image_set, condition, cfg.seed)
        scores = [evaluate(reference.restore(x, condition, scale, cfg), y, protocol, clip=not reference.raw,
                           gray_file=image_set.is_gray_file(i)) for i, (x, y) in enumerate(pairs)]
        out[name] = (float(np.mean([p for p, _ in scores])), float(np.mean([q for _, q in scores])))
    return out


def reference_metrics(cfg: TrialConfig, reference: Reference, tests: dict[str, ImageSet] | None = None
                      ) -> dict[str, float]:
    """``reference_scores`` of every condition under the trial's metric names (its seed fixes the degradation)."""
    task = cfg.components.task
    tests = load_tests(cfg) if tests is None else tests
    out = {}
    for condition in task.conditions():
        if reference.conditions is not None and condition not in reference.conditions:
            continue
        for name, (psnr, ssim) in reference_scores(cfg, reference, tests, condition).items():
            key = task.metric_condition(name, condition)
            out[M.psnr(key)], out[M.ssim(key)] = psnr, ssim
    return out
