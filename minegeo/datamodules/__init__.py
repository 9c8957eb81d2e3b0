"""minegeo.datamodules: spatially split, normalised batches for the tasks."""

from minegeo.datamodules.base import IGNORE_INDEX, MinegeoDataModule
from minegeo.datamodules.patches import PatchDataModule
from minegeo.datamodules.segmentation import PatchPairSegmentationDataModule, SceneSegmentationDataModule

__all__ = [
    "IGNORE_INDEX",
    "MinegeoDataModule",
    "PatchDataModule",
    "PatchPairSegmentationDataModule",
    "SceneSegmentationDataModule",
]
