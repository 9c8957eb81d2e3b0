"""SegmentationLoss: weighted sums, ignored pixels, the all-ignored batch, config errors."""

from __future__ import annotations

import pytest
import torch
from segmentation_models_pytorch.losses import DiceLoss
from torch import Tensor

from minegeo.errors import MinegeoInputError
from minegeo.tasks.losses import IGNORE_INDEX, LOSS_TERMS, SegmentationLoss


def _batch(seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 3, 6, 6, generator=generator)
    target = torch.randint(0, 3, (2, 6, 6), generator=generator)
    target[:, :2] = IGNORE_INDEX
    return logits, target


def test_loss_is_the_weighted_sum_of_its_terms() -> None:
    logits, target = _batch()
    loss = SegmentationLoss({"ce": 1.0, "dice": 0.5}, num_classes=3)(logits, target)
    ce = torch.nn.functional.cross_entropy(logits, target, ignore_index=IGNORE_INDEX)
    dice = DiceLoss("multiclass", ignore_index=IGNORE_INDEX)(logits, target)
    torch.testing.assert_close(loss, ce + 0.5 * dice)


@pytest.mark.parametrize("term", LOSS_TERMS)
def test_ignored_pixels_do_not_change_the_loss(term: str) -> None:
    logits, target = _batch()
    loss = SegmentationLoss({term: 1.0}, num_classes=3)
    changed = logits.clone()
    changed[:, :, :2] = 100.0  # only the ignored rows
    torch.testing.assert_close(loss(changed, target), loss(logits, target))


def test_all_ignored_batch_gives_zero_loss_with_a_gradient() -> None:
    logits, target = _batch()
    logits.requires_grad_(True)
    target[:] = IGNORE_INDEX
    loss = SegmentationLoss(dict.fromkeys(LOSS_TERMS, 1.0), num_classes=3)(logits, target)
    loss.backward()
    assert loss.item() == 0.0
    assert logits.grad is not None and torch.all(logits.grad == 0)


def test_class_weights_change_cross_entropy() -> None:
    logits, target = _batch()
    plain = SegmentationLoss({"ce": 1.0}, num_classes=3)(logits, target)
    weighted = SegmentationLoss({"ce": 1.0}, num_classes=3, class_weights=[0.1, 1.0, 5.0])(logits, target)
    expected = torch.nn.functional.cross_entropy(
        logits, target, weight=torch.tensor([0.1, 1.0, 5.0]), ignore_index=IGNORE_INDEX
    )
    assert not torch.isclose(plain, weighted)
    torch.testing.assert_close(weighted, expected)


def test_unknown_term_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"unknown terms \['tversky'\]"):
        SegmentationLoss({"ce": 1.0, "tversky": 1.0}, num_classes=3)


def test_all_zero_weights_are_refused() -> None:
    with pytest.raises(MinegeoInputError, match="at least one above 0"):
        SegmentationLoss({"ce": 0.0, "dice": 0.0}, num_classes=3)


def test_class_weights_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(MinegeoInputError, match="expected 3 non-negative weights"):
        SegmentationLoss({"ce": 1.0}, num_classes=3, class_weights=[1.0, 2.0])


@pytest.mark.parametrize("term", ["ce", "dice"])
def test_out_of_range_classes_fail_in_the_loss(term: str) -> None:
    # metrics skip torchmetrics' input checks because the loss already refuses such targets
    logits, target = _batch()
    target[0, 3, 3] = 3
    with pytest.raises((IndexError, RuntimeError)):
        SegmentationLoss({term: 1.0}, num_classes=3)(logits, target)
