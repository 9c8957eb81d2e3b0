"""Semantic segmentation: one class per pixel (background, mine, tailings dam)."""

from __future__ import annotations

from typing import Any

from minegeo import IGNORE_INDEX
from minegeo.tasks.base import BaseTask
from minegeo.tasks.losses import SegmentationLoss


class SegmentationTask(BaseTask):
    """Per-pixel classification; nodata pixels (``IGNORE_INDEX``) are ignored by the loss and metrics.

    Batches are ``{"image": (B, C, H, W) float, "mask": (B, H, W) long}``. Besides the
    metrics every task logs, segmentation logs ``{stage}/iou_fg`` and ``{stage}/f1_fg``,
    the macro averages over the classes other than ``background_class``.

    The model maps (B, C, H, W) to (B, n, H, W) logits. Takes the arguments of
    :class:`~minegeo.tasks.base.BaseTask`; without ``loss`` it is
    :class:`~minegeo.tasks.losses.SegmentationLoss` (cross-entropy + dice), given
    ``ignore_index``, ``mode`` and the class weights wherever a loss class takes them.

    Args:
        background_class: class left out of the foreground averages; sample panels draw
            ``1 - p(background)``.
        shared: the arguments of :class:`~minegeo.tasks.base.BaseTask`.
    """

    kind = "segmentation"
    target_key = "mask"
    ignore_index = IGNORE_INDEX
    default_loss = SegmentationLoss

    def __init__(self, *, background_class: str | None = "background", **shared: Any) -> None:
        super().__init__(**shared)
