"""What a search space's pictures are, and their registry (keyed by space name, like ``search_space.SPACES``)."""

from pathlib import Path
from typing import ClassVar

import numpy as np

from search_space.registry import Registry


class SpacePictures:
    name: ClassVar[str]  # the search space whose genotypes and weights these draw

    def architecture(self, genotype, out_path: Path, title: str, width: int) -> Path:
        """One figure of a derived architecture at base width ``width``."""
        raise NotImplementedError

    def arch_weights(self, weights: dict[str, np.ndarray], out_dir: Path, title: str) -> list[Path]:
        """Heat maps of the architecture weights a method saved (``arch_weights.npz``), one file each."""
        raise NotImplementedError


PICTURES: Registry[SpacePictures] = Registry("space pictures", instantiate=True)
