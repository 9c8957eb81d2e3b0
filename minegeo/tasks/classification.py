"""Patch classification: one class per patch (the paper's discovery FCN and ore-type CNN)."""

from __future__ import annotations

from torch import Tensor, nn

from minegeo.errors import MinegeoInputError
from minegeo.tasks.base import BaseTask


class ClassificationTask(BaseTask):
    """A loss (cross-entropy by default) on the logits of whole patches.

    Batches are ``{"image": (B, C, H, W) float, "label": (B,) long}``. The model may
    return (B, n) logits or, as a fully convolutional network whose receptive field is the
    patch, (B, n, 1, 1); predict keeps the spatial axes, so the same FCN slides over whole
    scenes. The paper applied softmax before a loss that applies it again; this task
    feeds the loss raw logits.

    Takes the arguments of :class:`~minegeo.tasks.base.BaseTask`; without ``loss`` it is
    ``torch.nn.CrossEntropyLoss``, given ``class_weights`` as its ``weight``.
    """

    kind = "classification"
    target_key = "label"
    default_loss = nn.CrossEntropyLoss

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
