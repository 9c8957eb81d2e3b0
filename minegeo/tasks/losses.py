"""Segmentation loss: a weighted sum of cross-entropy and segmentation_models_pytorch losses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from segmentation_models_pytorch import losses as smp_losses
from torch import Tensor, nn

from minegeo.errors import MinegeoInputError

#: target value of pixels that no loss or metric sees (nodata, padding)
IGNORE_INDEX = 255
#: loss terms a config may weight
LOSS_TERMS = ("ce", "dice", "focal", "jaccard", "lovasz")


class SegmentationLoss(nn.Module):
    """``sum(weight * term)`` over the terms with a non-zero weight, ignoring ``ignore_index``.

    Every term runs in multiclass mode on logits. Class weights scale cross-entropy
    (``weight=``) and the dice, focal and jaccard terms (their per-class losses); the
    Lovász term has no class weighting. A batch whose pixels are all ignored gives a loss
    of 0 that still carries a (zero) gradient, so training steps never see NaN.

    Args:
        weights: term name (one of :data:`LOSS_TERMS`) to weight, e.g. ``{"ce": 1.0, "dice": 0.5}``.
        num_classes: number of output channels.
        class_weights: one weight per class, or None.
        ignore_index: target value to skip.

    Raises:
        MinegeoInputError: for an unknown term, a negative weight, no positive weight, or
            class weights of the wrong length.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        super().__init__()
        self.weights = _check_weights(weights)
        class_weight_list = check_class_weights(class_weights, num_classes)
        self.ignore_index = ignore_index
        self.terms = nn.ModuleDict(
            {name: _make_term(name, class_weight_list, ignore_index) for name in self.weights}
        )

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of (B, n, H, W) logits against a (B, H, W) long target."""
        if not bool((target != self.ignore_index).any()):
            return logits.sum() * 0.0
        total = logits.new_zeros(())
        for name, term in self.terms.items():
            total = total + self.weights[name] * term(logits, target)
        return total


def check_class_weights(class_weights: Sequence[float] | None, num_classes: int) -> list[float] | None:
    """Validated class weights as a plain list (Hydra hands over ListConfig).

    Args:
        class_weights: one non-negative weight per class, or None.
        num_classes: the number of classes.

    Returns:
        the weights as floats, or None.

    Raises:
        MinegeoInputError: on a wrong length or a negative weight.
    """
    if class_weights is None:
        return None
    values = [float(w) for w in class_weights]
    if len(values) != num_classes or min(values) < 0:
        raise MinegeoInputError(
            f"task.class_weights={values}: expected {num_classes} non-negative weights, one per class"
        )
    return values


def _check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(LOSS_TERMS))
    if unknown:
        raise MinegeoInputError(f"task.loss has unknown terms {unknown}: expected some of {list(LOSS_TERMS)}")
    values = {name: float(weight) for name, weight in weights.items()}
    if any(weight < 0 for weight in values.values()) or not any(w > 0 for w in values.values()):
        raise MinegeoInputError(
            f"task.loss={values}: expected non-negative weights with at least one above 0"
        )
    return {name: weight for name, weight in values.items() if weight > 0}


def _make_term(name: str, class_weights: list[float] | None, ignore_index: int) -> nn.Module:
    if name == "ce":
        weight = None if class_weights is None else torch.tensor(class_weights)
        return nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index)
    if name == "lovasz":
        return smp_losses.LovaszLoss("multiclass", ignore_index=ignore_index)
    smp_class = {
        "dice": smp_losses.DiceLoss,
        "focal": smp_losses.FocalLoss,
        "jaccard": smp_losses.JaccardLoss,
    }
    term: nn.Module = smp_class[name]("multiclass", ignore_index=ignore_index, class_weights=class_weights)
    return term
