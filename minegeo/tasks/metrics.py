"""Per-class and macro metrics, all derived from one confusion matrix per stage.

One torchmetrics confusion matrix accumulates the epoch (and syncs across DDP ranks);
IoU, F1, precision, recall and accuracy are then read off it, so every logged number
agrees with the logged matrix.

Conventions (the same as torchmetrics' ``zero_division=0`` with macro weighting):

- a per-class score whose denominator is zero (the class never occurs nor is predicted,
  or is never predicted for precision) is 0;
- macro averages (``iou``, ``f1``, ``precision``, ``recall``) skip classes that occur
  neither in the truth nor in the predictions, so a patch set without tailings dams does
  not drag the mean down with an undefined 0;
- ``accuracy`` is the overall fraction of correct pixels (segmentation) or samples
  (classification);
- ``iou_fg`` and ``f1_fg`` are the macro averages over the foreground classes (all but
  the background class), reported only when a background class is named; they are the
  numbers to compare segmentation runs by, since background dominates the plain mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torchmetrics.classification import MulticlassConfusionMatrix

#: the per-class scores, logged as ``{stage}/{name}_{class}``
PER_CLASS_SCORES = ("iou", "f1", "precision", "recall")


class ClassMetrics(nn.Module):
    """Accumulates a confusion matrix over an epoch and turns it into named scores.

    Args:
        class_names: class names in output-channel order.
        ignore_index: target value that is skipped (nodata, padding); None for none.
        background_class: name of the class left out of the ``*_fg`` averages; None (or
            a name not in ``class_names``) reports no foreground averages.
    """

    def __init__(
        self,
        class_names: Sequence[str],
        ignore_index: int | None = None,
        background_class: str | None = None,
    ) -> None:
        super().__init__()
        self.class_names = tuple(class_names)
        self.background_class = background_class if background_class in self.class_names else None
        # The loss sees every target first and refuses out-of-range classes; torchmetrics'
        # own checks would scan every full-resolution mask again, at more than the
        # update's own cost.
        self.confusion = MulticlassConfusionMatrix(
            num_classes=len(self.class_names), ignore_index=ignore_index, validate_args=False
        )

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch of predicted class indexes and targets of the same shape."""
        self.confusion.update(preds, target)

    def compute(self) -> Tensor:
        """The (truth, prediction) count matrix accumulated since the last reset."""
        matrix: Tensor = self.confusion.compute()
        return matrix

    def reset(self) -> None:
        """Start a new epoch."""
        self.confusion.reset()

    def scores(self, confusion: Tensor, prefix: str) -> dict[str, Tensor]:
        """Named scores of a confusion matrix, keys ``{prefix}/{score}[_{class}]``."""
        return confusion_scores(confusion, self.class_names, prefix, self.background_class)


def confusion_scores(
    confusion: Tensor,
    class_names: Sequence[str],
    prefix: str,
    background_class: str | None = None,
) -> dict[str, Tensor]:
    """Per-class and macro scores of a confusion matrix (rows truth, columns prediction).

    Args:
        confusion: (n, n) counts, ``confusion[t, p]`` samples of class t predicted as p.
        class_names: the n class names, in index order.
        prefix: key prefix, e.g. ``"val"``.
        background_class: class left out of ``iou_fg``/``f1_fg``; None for no such keys.

    Returns:
        float tensors keyed ``{prefix}/iou_{class}``, ``.../f1_{class}``,
        ``.../precision_{class}``, ``.../recall_{class}``, ``{prefix}/iou``, ``/f1``,
        ``/precision``, ``/recall``, ``/accuracy`` and, with a background class,
        ``/iou_fg`` and ``/f1_fg``.
    """
    counts = confusion.double()
    tp = counts.diag()
    fp = counts.sum(dim=0) - tp
    fn = counts.sum(dim=1) - tp
    per_class = {
        "iou": _divide(tp, tp + fp + fn),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "precision": _divide(tp, tp + fp),
        "recall": _divide(tp, tp + fn),
    }
    present = (tp + fp + fn) > 0
    out: dict[str, Tensor] = {}
    for score in PER_CLASS_SCORES:
        for index, name in enumerate(class_names):
            out[f"{prefix}/{score}_{name}"] = per_class[score][index].float()
        out[f"{prefix}/{score}"] = _masked_mean(per_class[score], present)
    out[f"{prefix}/accuracy"] = _divide(tp.sum(), counts.sum()).float()
    if background_class is not None and background_class in class_names:
        foreground = present.clone()
        foreground[list(class_names).index(background_class)] = False
        out[f"{prefix}/iou_fg"] = _masked_mean(per_class["iou"], foreground)
        out[f"{prefix}/f1_fg"] = _masked_mean(per_class["f1"], foreground)
    return out


def _divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """Elementwise division that gives 0 where the denominator is 0."""
    return torch.where(denominator > 0, numerator / denominator.clamp_min(1), torch.zeros_like(numerator))


def _masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` where ``mask`` holds; 0 when it holds nowhere."""
    if not bool(mask.any()):
        return values.new_zeros(()).float()
    return values[mask].mean().float()
