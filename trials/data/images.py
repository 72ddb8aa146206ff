"""Reading image files into the project's one image format.

An image is a float32 numpy array in [0, 1] of shape (H, W, C), C = 1 (gray) or 3 (RGB), always 3-D.
Gray from RGB uses BT.601 luma (0.299 R + 0.587 G + 0.114 B, full range), the weights of PIL's
``convert("L")`` and OpenCV's gray reading, which is how the usual gray denoising benchmarks were made.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trials.data.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
BT601_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ImageSet:
    """Images (clean targets) of one data set split, with the inputs aligned to them that are read or made once
    at load: LR versions per SR scale, or at scale 1 the degraded inputs of a paired set (the rainy images of a
    deraining set), so patches and evaluation cut both sides of a pair from the same decoded arrays."""

    name: str
    images: list[np.ndarray]
    names: tuple[str, ...]  # file stems (or built-in names), for reports and error messages
    lr: dict[int, list[np.ndarray]] = field(default_factory=dict)  # scale -> inputs aligned to images (1: rainy)
    # Per image: read from a 1-channel file (Set14's bridge in a colour set); empty: none was. The published
    # protocol scores such images on their gray values (trials.metrics).
    gray_files: tuple[bool, ...] = ()

    def is_gray_file(self, index: int) -> bool:
        return bool(self.gray_files) and self.gray_files[index]

    def pairs(self, scale: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
        """(input, target) per image: at scale 1 (``lr[1][i]``, image) for a paired set, else (image, image)
        (denoising adds its noise later); at s > 1 (LR, HR cropped to a multiple of ``scale``)."""
        if scale == 1:
            return list(zip(self.lr.get(1, self.images), self.images, strict=True))
        if scale not in self.lr:
            raise KeyError(f"{self.name} was loaded without x{scale} inputs; load it with scales=({scale},)")
        return [(lr, hr[: lr.shape[0] * scale, : lr.shape[1] * scale]) for lr, hr in
                zip(self.lr[scale], self.images, strict=True)]

    def subset(self, indices: list[int]) -> "ImageSet":
        return ImageSet(self.name, [self.images[i] for i in indices], tuple(self.names[i] for i in indices),
                        {s: [lr[i] for i in indices] for s, lr in self.lr.items()},
                        tuple(self.gray_files[i] for i in indices) if self.gray_files else ())


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 1) BT.601 luma; gray images pass through."""
    if image.shape[2] == 1:
        return image
    return (image @ BT601_LUMA)[..., None].astype(np.float32)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Gray (H, W, 1) -> (H, W, 3) by replication, so gray files in colour sets (Set14) still evaluate."""
    return image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)


def as_color(image: np.ndarray, color: bool) -> np.ndarray:
    return to_rgb(image) if color else to_gray(image)


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name. Other files (Thumbs.db) are ignored, and so are hidden
    ones by rule: macOS's '._name.png' metadata files are not images, and '.name.png' is not meant as data."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def read_image(path: Path, color: bool | None) -> np.ndarray:
    """Decode the whole file (truncated files fail here, not mid-training); ``color=None`` keeps channels."""
    try:
        with Image.open(path) as pil:
            pil.load()
            pixels = _pixels(pil)
    except Image.DecompressionBombError as err:
        raise DataError(f"{path}: refused, too many pixels to decode safely ({err}); a real image this large "
                        f"needs cutting into parts first") from None
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DataError(f"{path}: cannot decode this image ({err}); replace or delete the file") from err
    return pixels if color is None else as_color(pixels, color)


def _pixels(pil: Image.Image) -> np.ndarray:
    """PIL image -> (H, W, 1 or 3) float32 in [0, 1]; 16-bit gray is scaled by 65535, alpha dropped."""
    if pil.mode in ("I;16", "I;16B", "I"):
        return (np.asarray(pil, dtype=np.float32) / 65535.0)[..., None]
    if pil.mode in ("1", "L", "LA"):
        return (np.asarray(pil.convert("L"), dtype=np.float32) / 255.0)[..., None]
    return np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0


def read_size(path: Path) -> tuple[int, int]:
    """(height, width) from the header only: pair sizes are checked before a whole set is decoded."""
    try:
        with Image.open(path) as pil:
            return pil.height, pil.width
    except Image.DecompressionBombError as err:
        raise DataError(f"{path}: refused, too many pixels to decode safely ({err})") from None
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DataError(f"{path}: cannot decode this image ({err}); replace or delete the file") from err
