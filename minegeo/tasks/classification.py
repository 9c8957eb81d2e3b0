"""Patch classification: one class per patch (the paper's discovery FCN and ore-type CNN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from minegeo.errors import MinegeoInputError
from minegeo.tasks.base import BaseTask, OptimizerFactory, SchedulerFactory
from minegeo.tasks.losses import LossFactory


class ClassificationTask(BaseTask):
    """A loss (cross-entropy by default) on the logits of whole patches.

    Batches are ``{"image": (B, C, H, W) float, "label": (B,) long}``. The model may
    return (B, n) logits or, as a fully convolutional network whose receptive field is the
    patch, (B, n, 1, 1); predict keeps the spatial axes, so the same FCN slides over whole
    scenes. The paper applied softmax before a loss that applies it again; this task
    feeds the loss raw logits.

    Args:
        model: the network, with ``geometry``.
        model_config: the Hydra node that rebuilds ``model``.
        class_names: class names in output-channel order.
        optimizer: optimizer factory taking the parameters.
        scheduler: scheduler factory taking the optimizer, or None.
        scheduler_monitor: metric a ReduceLROnPlateau scheduler watches.
        log_images: validation samples drawn as panels to each W&B logger per epoch.
        class_weights: one loss weight per class, or None.
        loss: loss factory (a Hydra ``_partial_`` node), given the class weights where it
            takes them; None for ``torch.nn.CrossEntropyLoss``.
    """

    kind = "classification"
    target_key = "label"
    default_loss = nn.CrossEntropyLoss

    def __init__(
        self,
        model: nn.Module,
        model_config: Mapping[str, Any],
        class_names: Sequence[str],
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_monitor: str = "val/loss",
        log_images: int = 4,
        class_weights: Sequence[float] | None = None,
        loss: LossFactory | None = None,
    ) -> None:
        super().__init__(
            model, model_config, class_names, optimizer, scheduler, scheduler_monitor, log_images, loss
        )

    def logits(self, output: Tensor) -> Tensor:
        """(B, n, 1, 1) or (B, n) output as (B, n) logits.

        Raises:
            MinegeoInputError: if a fully convolutional output has more than one cell per patch.
        """
        if output.dim() == 4:
            if output.shape[-2:] != (1, 1):
                raise MinegeoInputError(
                    f"model output has {tuple(output.shape[-2:])} cells per patch: expected (1, 1), "
                    "so data.patch_size must equal the model's receptive field"
                )
            return output.flatten(1)
        return output
