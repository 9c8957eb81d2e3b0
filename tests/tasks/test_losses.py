"""Losses: any loss node completed by build_loss, and SegmentationLoss's weighted sums."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from hydra.utils import instantiate
from segmentation_models_pytorch.losses import DiceLoss, FocalLoss, LovaszLoss, MCCLoss
from torch import Tensor, nn

from minegeo.errors import MinegeoInputError
from minegeo.tasks.losses import (
    DEFAULT_WEIGHTS,
    IGNORE_INDEX,
    LOSS_TERMS,
    EdgeCrossEntropy,
    SegmentationLoss,
    SkipsIgnored,
    build_loss,
    check_loss_target,
)


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


def _square(size: int = 12) -> Tensor:
    target = torch.zeros(1, size, size, dtype=torch.long)
    target[0, 4:8, 4:8] = 1
    return target


def test_edge_pixels_are_those_within_width_of_another_class() -> None:
    target = _square()
    edge = EdgeCrossEntropy(width=1).edges(target)[0]
    ring = torch.zeros(12, 12, dtype=torch.bool)
    ring[3:9, 3:9] = True
    ring[5:7, 5:7] = False  # the square's own core is 2 px from the background
    assert torch.equal(edge, ring)


def test_ignored_pixels_make_no_edge() -> None:
    target = _square()
    target[0, :, :2] = IGNORE_INDEX
    edge = EdgeCrossEntropy(width=1).edges(target)[0]
    assert not edge[:, :3].any()


def test_edge_cross_entropy_counts_only_the_edge() -> None:
    target = _square()
    logits = torch.zeros(1, 2, 12, 12)
    logits[:, 0] = 5.0 * (target == 0)  # right everywhere, sure of it
    logits[:, 1] = 5.0 * (target == 1)
    wrong_far = logits.clone()
    wrong_far[0, :, 0, 0] = wrong_far[0, :, 0, 0].flip(0)  # a corner, far from the square
    wrong_near = logits.clone()
    wrong_near[0, :, 3, 5] = wrong_near[0, :, 3, 5].flip(0)  # just outside the square
    loss = EdgeCrossEntropy(width=2)
    torch.testing.assert_close(loss(wrong_far, target), loss(logits, target))
    # the wrong pixel's cross-entropy (about 5) spread over the 8 x 8 edge pixels, not all 144
    torch.testing.assert_close(
        loss(wrong_near, target) - loss(logits, target), torch.tensor(5.0 / 64), atol=2e-3, rtol=0
    )


def test_class_weights_weigh_the_edge_pixels() -> None:
    target, logits = _square(), torch.randn(1, 2, 12, 12, generator=torch.Generator().manual_seed(0))
    plain = EdgeCrossEntropy()(logits, target)
    weighted = EdgeCrossEntropy(class_weights=[1.0, 3.0])(logits, target)
    edge = EdgeCrossEntropy().edges(target)
    pixels = torch.nn.functional.cross_entropy(
        logits, target, weight=torch.tensor([1.0, 3.0]), reduction="none"
    )
    torch.testing.assert_close(weighted, pixels[edge].mean())
    assert not torch.isclose(plain, weighted)


def test_a_target_of_one_class_has_no_edge_loss() -> None:
    logits = torch.randn(1, 2, 8, 8, requires_grad=True)
    loss = EdgeCrossEntropy()(logits, torch.zeros(1, 8, 8, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and logits.grad is not None


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


def test_segmentation_loss_defaults_to_cross_entropy_and_dice() -> None:
    assert SegmentationLoss(num_classes=3).weights == DEFAULT_WEIGHTS == {"ce": 1.0, "dice": 1.0}


def test_torch_cross_entropy_gets_the_ignore_index_and_class_weights() -> None:
    logits, target = _batch()
    loss = build_loss(nn.CrossEntropyLoss, 3, [0.1, 1.0, 5.0], IGNORE_INDEX)
    expected = torch.nn.functional.cross_entropy(
        logits, target, weight=torch.tensor([0.1, 1.0, 5.0]), ignore_index=IGNORE_INDEX
    )
    torch.testing.assert_close(loss(logits, target), expected)


def test_an_smp_loss_node_plugs_in_as_multiclass_with_the_ignore_index() -> None:
    logits, target = _batch()
    node = {"_target_": "segmentation_models_pytorch.losses.FocalLoss", "_partial_": True, "gamma": 3.0}
    loss = build_loss(instantiate(node), 3, ignore_index=IGNORE_INDEX)
    expected = FocalLoss("multiclass", gamma=3.0, ignore_index=IGNORE_INDEX)(logits, target)
    torch.testing.assert_close(loss(logits, target), expected)


def test_a_mode_the_node_gives_is_kept() -> None:
    loss = build_loss(partial(DiceLoss, mode="multiclass"), 3, ignore_index=IGNORE_INDEX)
    assert isinstance(loss, SkipsIgnored) and loss.loss.mode == "multiclass"


@pytest.mark.parametrize("factory", [nn.CrossEntropyLoss, FocalLoss, DiceLoss, LovaszLoss])
def test_ignored_pixels_do_not_count_in_any_loss(factory: type[nn.Module]) -> None:
    logits, target = _batch()
    loss = build_loss(factory, 3, ignore_index=IGNORE_INDEX)
    changed = logits.clone()
    changed[:, :, :2] = 100.0  # only the ignored rows
    torch.testing.assert_close(loss(changed, target), loss(logits, target))
    logits.requires_grad_(True)
    target[:] = IGNORE_INDEX
    nothing = loss(logits, target)  # torch's and smp's means over no pixel are NaN
    nothing.backward()
    assert nothing.item() == 0.0 and logits.grad is not None and torch.all(logits.grad == 0)


def test_a_loss_without_ignore_index_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"^task\.loss: .*MCCLoss takes no ignore_index"):
        build_loss(MCCLoss, 3, ignore_index=IGNORE_INDEX)


def test_class_weights_a_loss_cannot_take_are_refused() -> None:
    with pytest.raises(MinegeoInputError, match="LovaszLoss takes no class weights; expected null"):
        build_loss(LovaszLoss, 3, [1.0, 2.0, 3.0], IGNORE_INDEX)


def test_a_setting_the_loss_refuses_is_one_line() -> None:
    with pytest.raises(MinegeoInputError, match=r"^task\.loss: cannot build .*FocalLoss \(.*gamm\b"):
        build_loss(partial(FocalLoss, gamm=2.0), 3, ignore_index=IGNORE_INDEX)


def test_an_unknown_loss_target_is_one_line() -> None:
    check_loss_target({"_target_": "segmentation_models_pytorch.losses.TverskyLoss"})
    with pytest.raises(MinegeoInputError, match=r"^task\.loss\._target_=torch\.nn\.FocalLoss: no such class"):
        check_loss_target({"_target_": "torch.nn.FocalLoss"})


def test_weighted_sum_runs_in_float32_on_bfloat16_logits_under_autocast() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 16, 16)
    target = torch.randint(0, 3, (2, 16, 16))
    loss = SegmentationLoss({"ce": 1.0, "dice": 1.0, "lovasz": 1.0}, num_classes=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(logits.bfloat16(), target)  # Lovász's dot product refused mixed dtypes
    assert mixed.dtype == torch.float32
    assert torch.isclose(mixed, loss(logits.bfloat16().float(), target), rtol=1e-5)
