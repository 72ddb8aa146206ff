"""The built-in images (scikit-image's bundled photographs): no folder, the smoke presets' data."""

from collections.abc import Sequence
from pathlib import Path

from trials.data.builtin import builtin_set
from trials.data.images import ImageSet
from trials.data.kinds.base import DATA_KINDS, SEARCH, TEST, DataKind, LoadOptions, checked_size
from trials.data.readers import size_range


@DATA_KINDS.register
class Builtin(DataKind):
    name = "builtin"
    label = "built-in"
    layout = "no folder (scikit-image's bundled photographs, longest side 256 px)"
    splits = (SEARCH, TEST)

    def folder_in(self, test_root) -> None:
        return None  # no folder: the images come with the code

    def read(self, root: Path | None, split: str, opts: LoadOptions) -> ImageSet:
        images = builtin_set(split, opts.color)
        return checked_size(images, [], opts.min_size, self) if split == SEARCH else images

    def count(self, root: Path | None, split: str) -> int:
        return len(builtin_set(split, False).images)

    def check(self, root: Path | None, scales: Sequence[int] | None, opts: LoadOptions) -> str:
        lines = ["builtin: scikit-image sample photographs (no folder)"]
        for split in self.splits:
            for color in (True, False):
                image_set = builtin_set(split, color)
                shapes = [image.shape for image in image_set.images]
                lines.append(f"  {split} ({'colour' if color else 'gray'}): {len(shapes)} images, "
                             f"{size_range(shapes)}: {', '.join(image_set.names)}")
        return "\n".join(lines)
