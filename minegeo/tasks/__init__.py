"""minegeo.tasks: Lightning tasks around plain models, their losses, metrics and checkpoint bundle."""

from minegeo import IGNORE_INDEX
from minegeo.bundle import (
    Bundle,
    ModelGeometry,
    Preprocessing,
    checkpoint_hash,
    load_bundle,
    save_bundle,
)
from minegeo.tasks.base import BaseTask, check_in_channels
from minegeo.tasks.classification import ClassificationTask
from minegeo.tasks.losses import LOSS_TERMS, SegmentationLoss, build_loss
from minegeo.tasks.metrics import ClassMetrics, confusion_scores
from minegeo.tasks.segmentation import SegmentationTask
from minegeo.tasks.visualize import sample_panel

__all__ = [
    "IGNORE_INDEX",
    "LOSS_TERMS",
    "BaseTask",
    "Bundle",
    "ClassMetrics",
    "ClassificationTask",
    "ModelGeometry",
    "Preprocessing",
    "SegmentationLoss",
    "SegmentationTask",
    "build_loss",
    "check_in_channels",
    "checkpoint_hash",
    "confusion_scores",
    "load_bundle",
    "sample_panel",
    "save_bundle",
]
