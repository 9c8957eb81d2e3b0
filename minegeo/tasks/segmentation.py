"""Semantic segmentation: one class per pixel (background, mine, tailings dam)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from torch import nn

from minegeo import IGNORE_INDEX
from minegeo.tasks.base import BaseTask, OptimizerFactory, SchedulerFactory
from minegeo.tasks.losses import LossFactory, SegmentationLoss


class SegmentationTask(BaseTask):
    """Per-pixel classification; nodata pixels (``IGNORE_INDEX``) are ignored by the loss and metrics.

    Batches are ``{"image": (B, C, H, W) float, "mask": (B, H, W) long}``. Besides the
    metrics every task logs, segmentation logs ``{stage}/iou_fg`` and ``{stage}/f1_fg``,
    the macro averages over the classes other than ``background_class``.

    Args:
        model: the network, (B, C, H, W) -> (B, n, H, W) logits, with ``geometry``.
        model_config: the Hydra node that rebuilds ``model``.
        class_names: class names in output-channel order.
        optimizer: optimizer factory taking the parameters.
        scheduler: scheduler factory taking the optimizer, or None.
        scheduler_monitor: metric a ReduceLROnPlateau scheduler watches.
        log_images: validation samples drawn as panels to each W&B logger per epoch.
        loss: loss factory (a Hydra ``_partial_`` node: any torch or smp loss class), given
            ``ignore_index``, ``mode`` and the class weights where it takes them; None for
            :class:`SegmentationLoss` (cross-entropy + dice).
        class_weights: one weight per class for the loss, or None.
        background_class: class left out of the foreground averages; sample panels draw
            ``1 - p(background)``.
        scheduler_interval: step the scheduler every ``epoch`` or every optimizer ``step``
            (OneCycleLR, warm-up + cosine); a scheduler that needs the run's length
            (``total_steps``, ``T_max``) gets it from the trainer.
    """

    kind = "segmentation"
    target_key = "mask"
    ignore_index = IGNORE_INDEX
    default_loss = SegmentationLoss

    def __init__(
        self,
        model: nn.Module,
        model_config: Mapping[str, Any],
        class_names: Sequence[str],
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_monitor: str = "val/loss",
        log_images: int = 4,
        loss: LossFactory | None = None,
        class_weights: Sequence[float] | None = None,
        background_class: str | None = "background",
        scheduler_interval: Literal["epoch", "step"] = "epoch",
    ) -> None:
        super().__init__(
            model, model_config, class_names, optimizer, scheduler, scheduler_monitor, log_images, loss
        )
