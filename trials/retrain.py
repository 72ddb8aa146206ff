"""Retraining the derived network from scratch per condition, and its test evaluation (hinas-spec section 9)."""

from collections.abc import Callable

import torch

from search_space import SPACES, Genotype, count_parameters
from trials import metric_names as M
from trials.config import TrialConfig
from trials.data import PatchSampler
from trials.evaluate import evaluate_model
from trials.losses import LOSSES, checked_loss
from trials.optim import clipped_step
from trials.tasks import TASKS
from trials.workload import Workload


def conditions(cfg: TrialConfig) -> list[int]:
    """The task's conditions (noise levels, scales, ...): one retraining each."""
    return list(TASKS.get(cfg.task.name).conditions(cfg.task))


def build(genotype: Genotype, cfg: TrialConfig, condition: int, device: torch.device):
    torch.manual_seed(cfg.seed * 1000 + condition)  # same init on a fresh start and in any process
    io = TASKS.get(cfg.task.name).io(cfg.task, condition)
    net = SPACES.get(genotype.space).network(genotype, io, cfg.retrain.base_width).to(device)
    r = cfg.retrain
    optimizer = torch.optim.SGD(net.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)
    return net, optimizer


def train_sampler(work: Workload, cfg: TrialConfig, condition: int) -> PatchSampler:
    return TASKS.get(cfg.task.name).sampler(cfg.task, work.search_images, cfg.retrain.crop_size,
                                            cfg.retrain.batch_size, cfg.seed, f"retrain-{condition}", condition)


def train(net, optimizer, sampler: PatchSampler, cfg: TrialConfig, start: int, device: torch.device,
          on_checkpoint: Callable[[int], None], condition: int) -> None:
    """Iterations ``start``..end with poly(0.9) lr; ``on_checkpoint(next_iteration)`` every checkpoint_every."""
    r = cfg.retrain
    loss_fn = LOSSES.get(cfg.loss.name).build(cfg.loss)
    parameters = list(net.parameters())
    net.train()
    for it in range(start, r.iterations):
        for group in optimizer.param_groups:
            group["lr"] = r.lr * (1 - it / r.iterations) ** r.poly_power
        x, y = (t.to(device) for t in sampler.batch(it))
        loss = checked_loss(loss_fn, net(x), y, f"retraining for condition {condition}, iteration {it + 1}")
        clipped_step(optimizer, loss, parameters, r.grad_clip)
        if (it + 1) % r.checkpoint_every == 0 and it + 1 < r.iterations:
            on_checkpoint(it + 1)


def evaluate_condition(net, work: Workload, cfg: TrialConfig, condition: int) -> dict[str, float]:
    """Test PSNR/SSIM of one condition on every test set, with the net's parameters (M) and inference time
    per image (ms)."""
    task, out, seconds = TASKS.get(cfg.task.name), {}, []
    protocol, scale = task.protocol(cfg.task, condition), task.io(cfg.task, condition).scale
    for name, image_set in work.test_sets.items():
        pairs = task.test_pairs(cfg.task, image_set, condition, cfg.seed)
        key = task.metric_condition(name, condition)
        result = evaluate_model(net, pairs, protocol, scale, tile=cfg.retrain.eval_tile)
        out[M.psnr(key)], out[M.ssim(key)] = result.psnr, result.ssim
        seconds.append(result.seconds_per_image)
    out[M.INFERENCE_MS] = 1000 * sum(seconds) / len(seconds)
    out[M.PARAMS_M] = count_parameters(net) / 1e6
    return out
