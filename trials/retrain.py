"""Retraining the derived network from scratch per noise level / scale, and its test evaluation (section 9)."""

import dataclasses
from collections.abc import Callable

import torch

from search_space import DerivedNet, Genotype, count_parameters
from trials import metric_names as M
from trials.config import TrialConfig
from trials.data import PatchSampler, denoise_pairs, sr_pairs
from trials.evaluate import evaluate_model
from trials.losses import checked_restoration_loss
from trials.optim import clipped_step
from trials.workload import Workload


def conditions(cfg: TrialConfig) -> list[int]:
    """Noise levels (denoising) or scales (SR): one retrain each."""
    return list(cfg.retrain.sigmas) if cfg.space.task == "denoise" else list(cfg.retrain.scales)


def condition_genotype(genotype: Genotype, cfg: TrialConfig, condition: int) -> Genotype:
    scale = condition if genotype.task == "sr" else 1
    return dataclasses.replace(genotype, scale=scale, base_width=cfg.retrain_width())


def build(genotype: Genotype, cfg: TrialConfig, condition: int, device: torch.device):
    torch.manual_seed(cfg.seed * 1000 + condition)  # same init on a fresh start and in any process
    net = DerivedNet(condition_genotype(genotype, cfg, condition)).to(device)
    r = cfg.retrain
    optimizer = torch.optim.SGD(net.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)
    return net, optimizer


def train_sampler(work: Workload, cfg: TrialConfig, condition: int) -> PatchSampler:
    images, task = work.search_images, cfg.space.task
    lr = images.lr.get(condition) if task == "sr" else None
    return PatchSampler(images.images, task, cfg.retrain.crop_size, cfg.retrain.batch_size, cfg.seed,
                        scale=condition if task == "sr" else 1,
                        sigmas=condition if task == "denoise" else (30,), stream=f"retrain-{condition}",
                        lr_images=lr)


def train(net, optimizer, sampler: PatchSampler, cfg: TrialConfig, start: int, device: torch.device,
          on_checkpoint: Callable[[int], None], condition: int) -> None:
    """Iterations ``start``..end with poly(0.9) lr; ``on_checkpoint(next_iteration)`` every checkpoint_every."""
    r = cfg.retrain
    parameters = list(net.parameters())
    net.train()
    for it in range(start, r.iterations):
        for group in optimizer.param_groups:
            group["lr"] = r.lr * (1 - it / r.iterations) ** r.poly_power
        x, y = (t.to(device) for t in sampler.batch(it))
        loss = checked_restoration_loss(net(x), y, cfg.search.lam, cfg.search.pixel_loss,
                                        f"retraining for condition {condition}, iteration {it + 1}")
        clipped_step(optimizer, loss, parameters, r.grad_clip)
        if (it + 1) % r.checkpoint_every == 0 and it + 1 < r.iterations:
            on_checkpoint(it + 1)


def evaluate_condition(net, work: Workload, cfg: TrialConfig, condition: int) -> dict[str, float]:
    """Test PSNR/SSIM for one noise level (all test images) or one scale (every test set), with the
    net's parameters (M) and inference time per image (ms)."""
    task, out = cfg.space.task, {}
    space = net.genotype
    seconds = []
    for name, image_set in work.test_sets.items():
        if task == "denoise":
            pairs, key = denoise_pairs(image_set.images, condition, cfg.seed), M.denoise_condition(condition)
        else:
            pairs = sr_pairs(image_set.images, condition, image_set.lr.get(condition))
            key = M.sr_condition(name, condition)
        result = evaluate_model(net, pairs, space, tile=cfg.retrain.eval_tile)
        out[M.psnr(key)], out[M.ssim(key)] = result.psnr, result.ssim
        seconds.append(result.seconds_per_image)
    out[M.INFERENCE_MS] = 1000 * sum(seconds) / len(seconds)
    out[M.PARAMS_M] = count_parameters(net) / 1e6
    return out
