"""minegeo.datamodules: spatially split, normalised batches for the tasks."""

from minegeo import IGNORE_INDEX
from minegeo.datamodules.base import MinegeoDataModule
from minegeo.datamodules.patches import PatchDataModule
from minegeo.datamodules.segmentation import PatchPairSegmentationDataModule, SceneSegmentationDataModule

__all__ = [
    "IGNORE_INDEX",
    "MinegeoDataModule",
    "PatchDataModule",
    "PatchPairSegmentationDataModule",
    "SceneSegmentationDataModule",
]
