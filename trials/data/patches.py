"""Training batches as a pure function of (seed, stream, step): resuming at step N needs no data-order state.

``PatchSampler.batch(step)`` seeds a fresh numpy Generator from (seed, crc32(stream), step) and draws, per
sample: image, crop position, rotation k*90, horizontal and vertical flip, sigma (denoising) and noise.
``crop_size`` is the network-input patch (the paper crops 64x64 from input images); at ``scale`` > 1 targets
are ``crop_size * scale`` patches cut at exactly ``scale`` times the input position, and input patches come
from the whole aligned input image (an LR file, or bicubic downsampling of the whole HR image made at load),
so they equal the full-image degradation, borders included.
"""

import itertools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from trials.data.degrade import add_noise
from trials.data.errors import DataError

Batch = tuple[torch.Tensor, torch.Tensor]  # (input, target), float32 (N, C, H, W)


@dataclass(frozen=True)
class Crop:
    """Everything random about one training sample, in input (LR) pixel coordinates."""

    image: int
    y: int
    x: int
    rotations: int  # k in rot90(k)
    hflip: bool
    vflip: bool
    sigma: int  # 0 without noise


def dihedral(patch: np.ndarray, crop: Crop) -> np.ndarray:
    patch = np.rot90(patch, crop.rotations, axes=(0, 1))
    patch = patch[:, ::-1] if crop.hflip else patch
    return patch[::-1] if crop.vflip else patch


class PatchSampler(Dataset):
    """Random patch batches of aligned (input, target) pairs; also a map-style Dataset whose item ``step`` is a
    batch.

    ``scale``: target size / input size (targets are cut at ``scale`` times the input position);
    ``sigmas``: Gaussian noise added to each input patch, its level drawn per sample (empty: none), clipped
    to [0, 1] where ``clip_noise``;
    ``stream`` names an independent batch sequence under the same seed (e.g. 'train_w' and 'train_a');
    ``degrade(patch, rng)``: the input patch made from the (augmented) target patch per sample, e.g. fresh
    synthetic rain (then the pairs' inputs are not used); None: the pairs' inputs.
    """

    def __init__(
        self,
        pairs: Sequence[tuple[np.ndarray, np.ndarray]],
        crop_size: int,
        batch_size: int,
        seed: int,
        scale: int = 1,
        sigmas: int | Sequence[int] = (),
        augment: bool = True,
        stream: str = "train",
        degrade: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        clip_noise: bool = False,
    ):
        self.crop_size, self.batch_size, self.seed, self.scale = crop_size, batch_size, seed, scale
        self.sigmas = (sigmas,) if isinstance(sigmas, int) else tuple(sigmas)
        self.augment, self.stream_id, self.degrade = augment, zlib.crc32(stream.encode()), degrade
        self.clip_noise = clip_noise
        self.inputs = [source for source, _ in pairs]
        self.targets = [target for _, target in pairs]
        _check_sizes(self.inputs, crop_size)

    def rng(self, step: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64([self.seed, self.stream_id, step]))

    def crops(self, step: int) -> list[Crop]:
        """The random choices of batch ``step``; ``batch`` draws the same crops first, then the noise."""
        return self._draw_crops(self.rng(step))

    def batch(self, step: int) -> Batch:
        rng = self.rng(step)
        pairs = [self._pair(crop, rng) for crop in self._draw_crops(rng)]
        inputs, targets = (np.stack(side).transpose(0, 3, 1, 2) for side in zip(*pairs, strict=True))
        return torch.from_numpy(np.ascontiguousarray(inputs)), torch.from_numpy(np.ascontiguousarray(targets))

    def __getitem__(self, step: int) -> Batch:
        return self.batch(step)

    def _draw_crops(self, rng: np.random.Generator) -> list[Crop]:
        return [self._draw_crop(rng) for _ in range(self.batch_size)]

    def _draw_crop(self, rng: np.random.Generator) -> Crop:
        index = int(rng.integers(len(self.inputs)))
        h, w = self.inputs[index].shape[:2]
        y, x = int(rng.integers(h - self.crop_size + 1)), int(rng.integers(w - self.crop_size + 1))
        k, hflip, vflip = int(rng.integers(4)), bool(rng.integers(2)), bool(rng.integers(2))
        if not self.augment:
            k, hflip, vflip = 0, False, False
        sigma = int(rng.choice(self.sigmas)) if self.sigmas else 0
        return Crop(index, y, x, k, hflip, vflip, sigma)

    def _pair(self, crop: Crop, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        p, s = self.crop_size, self.scale
        source = self.inputs[crop.image][crop.y : crop.y + p, crop.x : crop.x + p]
        target = self.targets[crop.image][crop.y * s : (crop.y + p) * s, crop.x * s : (crop.x + p) * s]
        source, target = dihedral(source, crop), dihedral(target, crop)
        if self.degrade is not None:
            source = self.degrade(np.ascontiguousarray(target), rng)
        if self.sigmas:
            source = add_noise(source, crop.sigma, rng, self.clip_noise)
        return source, target


def _check_sizes(inputs: list[np.ndarray], crop_size: int) -> None:
    for i, img in enumerate(inputs):
        if min(img.shape[:2]) < crop_size:
            raise DataError(
                f"training image #{i} has input size {img.shape[:2]}, smaller than the {crop_size}px crop; "
                "lower crop_size or remove the image"
            )


def make_loader(
    sampler: PatchSampler, start_step: int = 0, num_workers: int = 0, num_steps: int | None = None
) -> DataLoader:
    """Batches start_step, start_step + 1, ... in order, identical for any ``num_workers``."""
    steps = itertools.count(start_step) if num_steps is None else range(start_step, start_step + num_steps)
    return DataLoader(sampler, batch_size=None, sampler=steps, num_workers=num_workers)
