"""Does one search step fit in memory? Estimated before Ray starts, so that sizes no machine holds
(``search.batch_size=100000``, ``search.crop_size=20000``) fail at once with the limit they break, not inside
every trial after Ray, data loading and the supernet's build.

The supernet is built on PyTorch's meta device (no memory) and runs one sample at the search crop there: the
tensors autograd saves for backward are summed and scaled by the batch, and the weights count four times
(weights, gradients, two optimiser moments). Against measured peaks this lands within about 2x either way
(HiNAS's paper config: 2.3 GiB estimated, 2.7 GiB peak RSS), so only estimates above twice the machine's
memory are refused: the check stops absurd sizes, it does not fine-tune near the edge.
"""

import functools
import random
from dataclasses import dataclass

import psutil
import torch

from search_space import NetworkIO, SearchSpace, SpaceConfig
from trials.config import TrialConfig, retrain_input_crop
from trials.tasks import BoundTask

HEADROOM = 2.0  # refuse above this many times the machine's memory (the estimate's error, with a margin)
# Retraining's network is derived by the search, unknown before it: a sampled genotype of the space stands for
# it, and the one derived may save this many times less (skips, fewer edges) before a refusal would be wrong.
GENOTYPE_SPREAD = 4.0


@dataclass(frozen=True)
class Footprint:
    """A supernet's size, measured on the meta device: weights and buffers, and what backward keeps of one
    sample at the search crop."""

    weights_mb: float
    saved_per_sample_mb: float


def footprint(cfg: TrialConfig) -> Footprint:
    """Built once per (space, task, crop) for this check and the disk-space check (orchestrator/diskspace.py)."""
    return _footprint(cfg.components.space, cfg.space, cfg.components.task, cfg.search.crop_size)


@functools.lru_cache(maxsize=64)
def _footprint(space: SearchSpace, section: SpaceConfig, task: BoundTask, crop: int) -> Footprint:
    io = task.search_io()
    with torch.device("meta"):
        return measure(space.supernet(section, io), io.in_channels, crop)


def measure(net: torch.nn.Module, channels: int, crop: int) -> Footprint:
    """Weights and buffers of ``net``, and what its backward saves of one ``crop`` sample (on the net's device:
    the meta device costs nothing)."""
    saved = 0

    def count(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    device = next(net.parameters()).device
    with torch.autograd.graph.saved_tensors_hooks(count, lambda tensor: tensor):
        net(torch.rand(1, channels, crop, crop, device=device))
    weights = sum(t.numel() * t.element_size() for t in (*net.parameters(), *net.buffers()))
    return Footprint(weights / 2**20, saved / 2**20)


def retrain_footprint(cfg: TrialConfig) -> Footprint:
    """The largest retraining network's size over the conditions, a sampled genotype standing for the derived
    one (seeded: the same every time)."""
    task = cfg.components.task
    # Conditions with the same network I/O and crop (a denoiser's sigmas) build the same network: measured once.
    shapes = tuple(dict.fromkeys((task.io(c), retrain_input_crop(cfg, c)) for c in task.conditions()))
    return _retrain_footprint(cfg.components.space, cfg.space, cfg.retrain.base_width, shapes)


@functools.lru_cache(maxsize=64)
def _retrain_footprint(space: SearchSpace, section: SpaceConfig, width: int,
                       shapes: tuple[tuple[NetworkIO, int], ...]) -> Footprint:
    genotype = space.sample(section, random.Random(0))
    sizes = []
    for io, crop in shapes:
        with torch.device("meta"):
            sizes.append(measure(space.network(genotype, io, width), io.in_channels, crop))
    return max(sizes, key=lambda size: (size.saved_per_sample_mb, size.weights_mb))


def search_step_gib(cfg: TrialConfig) -> float:
    """Weights (x4: with gradients and two optimiser moments) and the activations one search step saves for
    backward, in GiB."""
    size = footprint(cfg)
    return (size.saved_per_sample_mb * cfg.search.batch_size + 4 * size.weights_mb) / 1024


def retrain_step_gib(cfg: TrialConfig) -> float:
    """As ``search_step_gib``, for one retraining step of the largest condition's network."""
    size = retrain_footprint(cfg)
    return (size.saved_per_sample_mb * cfg.retrain.batch_size + 4 * size.weights_mb) / 1024


def check(configs: dict[str, TrialConfig], memory_gib: float | None = None) -> None:
    """Each setting's search step against ``HEADROOM`` x this machine's memory (``memory_gib``: by default
    its total RAM; a GPU trial's limit is its GPU's, smaller still, so this never refuses what would fit), and
    its retraining step, with the derived network's ``GENOTYPE_SPREAD`` more."""
    memory_gib = memory_gib or psutil.virtual_memory().total / 2**30
    for name, cfg in configs.items():
        need = search_step_gib(cfg)
        if need > HEADROOM * memory_gib:
            raise ValueError(
                f"setting {name}: one search step needs about {need:,.0f} GiB (search.batch_size="
                f"{cfg.search.batch_size} crops of {cfg.search.crop_size}x{cfg.search.crop_size} px through the "
                f"{cfg.space.name} supernet; estimated on PyTorch's meta device), more than {HEADROOM:g} x this "
                f"machine's {memory_gib:.0f} GiB; lower search.batch_size, search.crop_size or the space's size")
        need = retrain_step_gib(cfg)
        if need > GENOTYPE_SPREAD * HEADROOM * memory_gib:
            raise ValueError(
                f"setting {name}: one retraining step needs about {need:,.0f} GiB (retrain.batch_size="
                f"{cfg.retrain.batch_size} crops through a {cfg.space.name} network of width "
                f"{cfg.retrain.base_width}; estimated on PyTorch's meta device with a sampled architecture), more "
                f"than {GENOTYPE_SPREAD * HEADROOM:g} x this machine's {memory_gib:.0f} GiB; lower "
                f"retrain.batch_size, retrain.crop_size or retrain.base_width")
