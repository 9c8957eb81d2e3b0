"""Losses: any loss class a config names, completed by the task, and minegeo's weighted sum.

A task's ``loss`` is a Hydra ``_partial_`` node (``torch.nn.CrossEntropyLoss``,
``segmentation_models_pytorch.losses.FocalLoss``, :class:`SegmentationLoss`...);
:func:`build_loss` completes it with what the task knows and the class takes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from segmentation_models_pytorch import losses as smp_losses
from torch import Tensor, nn

from minegeo import IGNORE_INDEX
from minegeo.errors import MinegeoInputError

#: loss terms a config may weight
LOSS_TERMS = ("ce", "dice", "focal", "jaccard", "lovasz", "edge_ce")
#: the weighted sum's terms when a config names none
DEFAULT_WEIGHTS = {"ce": 1.0, "dice": 1.0}

#: a loss class (or a ``functools.partial`` of one, as Hydra's ``_partial_: true`` gives)
LossFactory = Callable[..., nn.Module]


class SegmentationLoss(nn.Module):
    """``sum(weight * term)`` over the terms with a non-zero weight, ignoring ``ignore_index``.

    Every term runs in multiclass mode on logits. Class weights scale cross-entropy
    (``weight=``, in ``edge_ce`` too) and the dice, focal and jaccard terms (their
    per-class losses); the Lovász term has no class weighting. ``edge_ce`` is
    cross-entropy over the pixels near a boundary between classes only
    (:class:`EdgeCrossEntropy`). A batch whose pixels are all ignored gives a loss of 0
    that still carries a (zero) gradient, so training steps never see NaN.

    Args:
        weights: term name (one of :data:`LOSS_TERMS`) to weight, e.g. ``{"ce": 1.0, "dice": 0.5}``
            (default: :data:`DEFAULT_WEIGHTS`).
        num_classes: number of output channels.
        class_weights: one weight per class, or None.
        ignore_index: target value to skip.

    Raises:
        MinegeoInputError: for an unknown term, a negative weight, no positive weight, or
            class weights of the wrong length.
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        *,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        super().__init__()
        self.weights = _check_weights(DEFAULT_WEIGHTS if weights is None else weights)
        class_weight_list = check_class_weights(class_weights, num_classes)
        self.ignore_index = ignore_index
        self.terms = nn.ModuleDict(
            {name: _make_term(name, class_weight_list, ignore_index) for name in self.weights}
        )

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of (B, n, H, W) logits against a (B, H, W) long target."""
        # in float32 under bf16 autocast: sums over a batch's pixels keep their precision,
        # and Lovász's dot product would meet bfloat16 errors with float32 gradients
        logits = logits.float()
        if not bool((target != self.ignore_index).any()):
            return logits.sum() * 0.0
        total = logits.new_zeros(())
        for name, term in self.terms.items():
            total = total + self.weights[name] * term(logits, target)
        return total


class EdgeCrossEntropy(nn.Module):
    """Cross-entropy averaged over the pixels within ``width`` px of another class only.

    Plain cross-entropy is an average over all pixels, where an outline one pixel too wide
    or too narrow weighs little; an area measured from the outline (a site's growth) moves
    by that whole ring. Ignored pixels are neither counted nor make a boundary.
    """

    weight: Tensor | None  # a buffer: it follows the module to the device

    def __init__(
        self, width: int = 2, class_weights: Sequence[float] | None = None, ignore_index: int = IGNORE_INDEX
    ) -> None:
        super().__init__()
        self.window = 2 * width + 1
        self.ignore_index = ignore_index
        weight = None if class_weights is None else torch.tensor(class_weights)
        self.register_buffer("weight", weight)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean cross-entropy of the edge pixels of a (B, H, W) target; 0 where it has none."""
        edge = self.edges(target)
        if not bool(edge.any()):
            return logits.sum() * 0.0
        pixels = nn.functional.cross_entropy(
            logits, target, self.weight, ignore_index=self.ignore_index, reduction="none"
        )
        return pixels[edge].mean()

    def edges(self, target: Tensor) -> Tensor:
        """Counted pixels with a counted pixel of another class in their window."""
        counted = target != self.ignore_index
        classes = target.float().unsqueeze(1)
        highest = self._window_max(torch.where(counted.unsqueeze(1), classes, -torch.inf))
        lowest = -self._window_max(torch.where(counted.unsqueeze(1), -classes, -torch.inf))
        return counted & (highest != lowest).squeeze(1)

    def _window_max(self, values: Tensor) -> Tensor:
        return nn.functional.max_pool2d(values, self.window, stride=1, padding=self.window // 2)


class SkipsIgnored(nn.Module):
    """``loss(logits, target)``, or 0 with a (zero) gradient when every target is ``ignore_index``.

    Torch's and smp's losses average over the pixels they keep, so a batch of nodata alone
    would give NaN and poison the weights.
    """

    def __init__(self, loss: nn.Module, ignore_index: int) -> None:
        super().__init__()
        self.loss = loss
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The wrapped loss, or 0 for a batch without a counted target."""
        if not bool((target != self.ignore_index).any()):
            return logits.sum() * 0.0
        loss: Tensor = self.loss(logits, target)
        return loss


def build_loss(
    factory: LossFactory,
    num_classes: int,
    class_weights: Sequence[float] | None = None,
    ignore_index: int | None = None,
) -> nn.Module:
    """Complete a loss node with what the task knows, wherever its class takes it.

    The node's own settings win; the task adds ``ignore_index``, ``mode="multiclass"``
    (smp's losses), ``num_classes``, and the class weights as ``class_weights`` (smp's and
    minegeo's losses) or as a ``weight`` tensor (torch's).

    Args:
        factory: the loss class, or a partial of it.
        num_classes: output channels.
        class_weights: one weight per class, or None.
        ignore_index: target value no loss may count (None: every target counts).

    Returns:
        the loss; with an ``ignore_index``, one that gives 0 for a batch of ignored targets.

    Raises:
        MinegeoInputError: naming the loss when it cannot skip ``ignore_index``, cannot
            weight classes that are weighted, or refuses the node's settings.
    """
    target = getattr(factory, "func", factory)
    given = getattr(factory, "keywords", {})
    name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', target)}"
    extra = _task_arguments(name, _parameters(target), num_classes, class_weights, ignore_index)
    try:
        loss = factory(**{key: value for key, value in extra.items() if key not in given})
    except (TypeError, ValueError) as error:
        raise MinegeoInputError(f"task.loss: cannot build {name} ({error})") from error
    if ignore_index is None or isinstance(loss, SegmentationLoss):  # it skips ignored batches itself
        return loss
    return SkipsIgnored(loss, ignore_index)


def _task_arguments(
    name: str,
    taken: set[str],
    num_classes: int,
    class_weights: Sequence[float] | None,
    ignore_index: int | None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {"mode": "multiclass", "num_classes": num_classes}
    if ignore_index is not None:
        if "ignore_index" not in taken:
            raise MinegeoInputError(
                f"task.loss: {name} takes no ignore_index; expected a loss that skips the nodata "
                f"target {ignore_index} (torch.nn.CrossEntropyLoss, segmentation_models_pytorch.losses.*)"
            )
        extra["ignore_index"] = ignore_index
    weights = check_class_weights(class_weights, num_classes)
    if weights is not None and "class_weights" in taken:
        extra["class_weights"] = weights
    elif weights is not None and "weight" in taken:
        extra["weight"] = torch.tensor(weights)
    elif weights is not None:
        raise MinegeoInputError(f"task.class_weights is set but {name} takes no class weights; expected null")
    return {key: value for key, value in extra.items() if key in taken}


def _parameters(target: Any) -> set[str]:
    try:
        return set(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: pass nothing
        return set()


def check_loss_target(node: Mapping[str, Any] | None) -> None:
    """Refuse a loss node whose ``_target_`` names nothing importable, before anything is built.

    Raises:
        MinegeoInputError: naming the target and examples of what is expected.
    """
    if not node or "_target_" not in node:
        return
    path = str(node["_target_"])
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute, None)
        if callable(found):
            return
        break
    raise MinegeoInputError(
        f"task.loss._target_={path}: no such class; expected an importable loss such as "
        "torch.nn.CrossEntropyLoss, segmentation_models_pytorch.losses.DiceLoss or "
        "minegeo.tasks.SegmentationLoss"
    )


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
    if name == "edge_ce":
        return EdgeCrossEntropy(class_weights=class_weights, ignore_index=ignore_index)
    smp_class = {
        "dice": smp_losses.DiceLoss,
        "focal": smp_losses.FocalLoss,
        "jaccard": smp_losses.JaccardLoss,
    }
    term: nn.Module = smp_class[name]("multiclass", ignore_index=ignore_index, class_weights=class_weights)
    return term
