"""Pictures of each search space, found by the space a genotype names; importing this fills ``PICTURES``."""

from analysis.pictures import autoderain, dlsr, hinas  # noqa: F401 - registers each space's pictures
from analysis.pictures.base import PICTURES, SpacePictures

__all__ = ["PICTURES", "SpacePictures"]
