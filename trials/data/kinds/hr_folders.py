"""Training sets of clean/HR photographs: BSD500 (denoising) and DIV2K / DF2K (super-resolution).

- bsd500: ``images/{train,val,test}/*.jpg`` (also under ``BSR/BSDS500/data`` or ``BSDS500/data``), or flat
  ``train/`` (+ optional ``val/``) and ``test/``. Search/train = train + val (300), test = test (200, named
  "bsd200").
- div2k: ``DIV2K_train_HR/*.png``, optional ``DIV2K_train_LR_bicubic/X{s}/*x{s}.png``.
- df2k: DIV2K's folders above and ``Flickr2K_HR/*.png`` with optional ``Flickr2K_LR_bicubic/X{s}/*x{s}.png``
  (both also under ``Flickr2K/``, as Flickr2K.tar unpacks). Order: DIV2K sorted, then Flickr2K sorted
  (DLSR: 800 + 2650 = 3450 images). An ``X{s}`` folder must be there for both parts or for neither.
"""

from pathlib import Path

from trials.data.images import list_images
from trials.data.kinds.base import DATA_KINDS, SEARCH, TEST, FolderKind
from trials.data.readers import FoundFiles, found_in_parts, images_in

_BSD_ROOTS = (".", "BSR/BSDS500/data", "BSDS500/data", "data")
_DIV2K = ("DIV2K_train_HR", "DIV2K_train_LR_bicubic")  # (HR folder, LR folder)
_FLICKR2K = ("Flickr2K_HR", "Flickr2K_LR_bicubic")
_FLICKR2K_PARENTS = (".", "Flickr2K")


@DATA_KINDS.register
class BSD500(FolderKind):
    name = "bsd500"
    label = "BSD200"
    layout = "images/{train,val,test}/*.jpg (or BSR/BSDS500/data/images/...), or flat train/ + test/"
    splits = (SEARCH, TEST)
    set_name = "bsd200"
    expected_counts = {SEARCH: (300,), TEST: (200,)}

    def find(self, root: Path) -> FoundFiles:
        if not root.is_dir():
            raise self.error(root, "folder not found")
        for sub in _BSD_ROOTS:
            base = root / sub
            if (base / "images" / "test").is_dir():
                return self._splits(root, base / "images")
            if (base / "train").is_dir() and (base / "test").is_dir():
                return self._splits(root, base)
        loose = len(list_images(root))
        raise self.error(root, f"{loose} images directly in the folder, no train/ and test/" if loose
                         else "no train/ and test/")

    def _splits(self, root: Path, base: Path) -> FoundFiles:
        search = images_in(base / "train", self.error)
        if (base / "val").is_dir():
            search += images_in(base / "val", self.error)
        return FoundFiles(root, {SEARCH: search, TEST: images_in(base / "test", self.error)})


@DATA_KINDS.register
class DIV2K(FolderKind):
    name = "div2k"
    label = "DIV2K"
    layout = "DIV2K_train_HR/*.png, optional DIV2K_train_LR_bicubic/X{s}/*x{s}.png"
    splits = (SEARCH,)
    expected_counts = {SEARCH: (800,)}
    has_lr_layout = True

    def find(self, root: Path) -> FoundFiles:
        if not root.is_dir():
            raise self.error(root, "folder not found")
        return found_in_parts(root, [self._part(root / _DIV2K[0], root / _DIV2K[1])], SEARCH, self.error)

    def _part(self, hr_folder: Path, lr_folder: Path) -> tuple[list[Path], Path]:
        return images_in(hr_folder, self.error), lr_folder


@DATA_KINDS.register
class DF2K(DIV2K):
    name = "df2k"
    label = "DF2K"
    layout = ("DIV2K_train_HR/*.png and Flickr2K_HR/*.png (or Flickr2K/Flickr2K_HR/*.png), optional "
              "DIV2K_train_LR_bicubic/X{s}/*x{s}.png and Flickr2K_LR_bicubic/X{s}/*x{s}.png (or under Flickr2K/), "
              "each X{s} for both or for neither")
    expected_counts = {SEARCH: (3450,)}

    def find(self, root: Path) -> FoundFiles:
        if not root.is_dir():
            raise self.error(root, "folder not found")
        parts = [self._part(root / _DIV2K[0], root / _DIV2K[1]), self._part(*self._flickr2k_folders(root))]
        return found_in_parts(root, parts, SEARCH, self.error)

    def _flickr2k_folders(self, root: Path) -> tuple[Path, Path]:
        """(HR folder, LR folder) of Flickr2K: in ``root`` or in ``root/Flickr2K``; LR preferably beside HR."""
        bases = [root / sub for sub in _FLICKR2K_PARENTS]
        hr_bases = [base for base in bases if (base / _FLICKR2K[0]).is_dir()]
        if not hr_bases:
            raise self.error(root, f"no {_FLICKR2K[0]}/ or Flickr2K/{_FLICKR2K[0]}/ folder")
        lr_bases = [hr_bases[0]] + [base for base in bases if base != hr_bases[0]]
        lr = next((base / _FLICKR2K[1] for base in lr_bases if (base / _FLICKR2K[1]).is_dir()),
                  hr_bases[0] / _FLICKR2K[1])
        return hr_bases[0] / _FLICKR2K[0], lr
