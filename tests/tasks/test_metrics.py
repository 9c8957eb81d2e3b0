"""Metrics read off a confusion matrix: keys, values, absent classes, ignored targets."""

from __future__ import annotations

import pytest
import torch

from minegeo import DISCOVERY_CLASSES, SEGMENTATION_CLASSES
from minegeo.tasks.metrics import ClassMetrics, confusion_scores

# rows truth, columns prediction; tailings_dam occurs neither in truth nor predictions
CONFUSION = torch.tensor([[5, 1, 0], [2, 3, 0], [0, 0, 0]])


def test_per_class_scores_match_hand_counts() -> None:
    scores = confusion_scores(CONFUSION, SEGMENTATION_CLASSES, "val", "background")
    assert scores["val/iou_background"].item() == pytest.approx(5 / 8)
    assert scores["val/iou_mine"].item() == pytest.approx(3 / 6)
    assert scores["val/precision_mine"].item() == pytest.approx(3 / 4)
    assert scores["val/recall_mine"].item() == pytest.approx(3 / 5)
    assert scores["val/f1_mine"].item() == pytest.approx(6 / 9)
    assert scores["val/accuracy"].item() == pytest.approx(8 / 11)


def test_macro_scores_skip_classes_absent_from_truth_and_predictions() -> None:
    scores = confusion_scores(CONFUSION, SEGMENTATION_CLASSES, "val", "background")
    assert scores["val/iou_tailings_dam"].item() == 0.0
    assert scores["val/iou"].item() == pytest.approx((5 / 8 + 3 / 6) / 2)
    assert scores["val/iou_fg"].item() == pytest.approx(3 / 6)


def test_binary_discovery_keys_have_no_foreground_average() -> None:
    scores = confusion_scores(torch.tensor([[3, 1], [0, 4]]), DISCOVERY_CLASSES, "test")
    assert set(scores) == {
        "test/accuracy",
        *(f"test/{s}" for s in ("iou", "f1", "precision", "recall")),
        *(f"test/{s}_{c}" for s in ("iou", "f1", "precision", "recall") for c in DISCOVERY_CLASSES),
    }
    assert scores["test/f1"].item() == pytest.approx((6 / 7 + 8 / 9) / 2)


def test_class_metrics_skip_ignored_targets() -> None:
    metrics = ClassMetrics(SEGMENTATION_CLASSES, ignore_index=255)
    metrics.update(torch.tensor([[0, 1, 2, 1]]), torch.tensor([[0, 255, 2, 2]]))
    assert metrics.compute().tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 1]]


def test_reset_starts_a_new_count() -> None:
    metrics = ClassMetrics(DISCOVERY_CLASSES)
    metrics.update(torch.tensor([0, 1]), torch.tensor([0, 0]))
    metrics.reset()
    metrics.update(torch.tensor([1]), torch.tensor([1]))
    assert metrics.compute().tolist() == [[0, 0], [0, 1]]
