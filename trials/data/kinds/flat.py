"""Flat folders of images, as DnCNN ships its data (``Train400/*.png``, ``testsets/BSD68/*.png``, ...): every
image directly in the folder is one clean image of the set (of each split the kind serves)."""

from pathlib import Path

from trials.data.kinds.base import DATA_KINDS, SEARCH, TEST, FolderKind
from trials.data.readers import FoundFiles, images_in


class FlatFolder(FolderKind):
    layout = "image files directly in the folder (*.png, *.jpg, *.bmp, *.tif)"

    def find(self, root: Path) -> FoundFiles:
        files = images_in(root, self.error)
        return FoundFiles(root, {split: files for split in self.splits})


def _flat(name: str, label: str, splits: tuple[str, ...], count: int, *folders: str) -> type[FlatFolder]:
    attributes = {"name": name, "label": label, "splits": splits,
                  "folder_names": folders or (label,), "expected_counts": {split: (count,) for split in splits}}
    return DATA_KINDS.register(type(label, (FlatFolder,), attributes))


Train400 = _flat("train400", "Train400", (SEARCH,), 400)
BSD68 = _flat("bsd68", "BSD68", (TEST,), 68)
Set12 = _flat("set12", "Set12", (TEST,), 12)
CBSD68 = _flat("cbsd68", "CBSD68", (SEARCH, TEST), 68)  # DnCNN's colour test set; also small SR training data
Kodak24 = _flat("kodak24", "Kodak24", (TEST,), 24)  # colour denoising test sets (FFDNet, DRUNet tables)
McMaster = _flat("mcmaster", "McMaster", (TEST,), 18)
