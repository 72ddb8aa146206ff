"""The SR benchmark test sets in the EDSR/BasicSR layout: ``<Set>/HR/*.png``, optional ``LR_bicubic/X{s}/*``
matched by file stem (an ``x{s}`` suffix on LR stems is ignored). Without LR files the LR inputs are made from
HR (``data.downsample``: MATLAB's bicubic, as the published tables)."""

from pathlib import Path

from trials.data.kinds.base import DATA_KINDS, TEST, FolderKind
from trials.data.readers import FoundFiles, found_in_parts, images_in


class Benchmark(FolderKind):
    layout = "HR/*.png, optional LR_bicubic/X{s}/<stem>x{s}.png next to HR/"
    splits = (TEST,)
    has_lr_layout = True

    def find(self, root: Path) -> FoundFiles:
        if not root.is_dir():
            raise self.error(root, "folder not found")
        return found_in_parts(root, [(images_in(root / "HR", self.error), root / "LR_bicubic")], TEST, self.error)


def _benchmark(name: str, label: str, count: int, rank: int, *folders: str) -> type[Benchmark]:
    attributes = {"name": name, "label": label, "rank": rank, "folder_names": folders or (label,),
                  "expected_counts": {TEST: (count,)}}
    return DATA_KINDS.register(type(label, (Benchmark,), attributes))


Set5 = _benchmark("set5", "Set5", 5, 0)
Set14 = _benchmark("set14", "Set14", 14, 1)
BSD100 = _benchmark("bsd100", "BSD100", 100, 2, "BSD100", "B100")
Urban100 = _benchmark("urban100", "Urban100", 100, 3)
Manga109 = _benchmark("manga109", "Manga109", 109, 4)
