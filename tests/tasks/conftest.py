"""Fixtures for task tests: tiny tasks, datamodules and a quiet CPU trainer."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch

from minegeo import DISCOVERY_CLASSES, SEGMENTATION_CLASSES
from minegeo.tasks import ClassificationTask, SegmentationTask
from tests.tasks.tiny import TinyClassifier, TinyDataModule, TinySegmenter, model_config


@pytest.fixture
def segmentation_task() -> Callable[..., SegmentationTask]:
    """Factory of a tiny segmentation task (keyword arguments override the task's)."""

    def make(in_channels: int = 3, **kwargs: Any) -> SegmentationTask:
        torch.manual_seed(0)
        model = TinySegmenter(in_channels, len(SEGMENTATION_CLASSES))
        options: dict[str, Any] = {
            "model_config": model_config(
                model, in_channels=in_channels, num_classes=len(SEGMENTATION_CLASSES)
            ),
            "class_names": SEGMENTATION_CLASSES,
            "optimizer": partial(torch.optim.Adam, lr=1e-2),
        }
        options.update(kwargs)
        return SegmentationTask(model=model, **options)

    return make


@pytest.fixture
def classification_task() -> Callable[..., ClassificationTask]:
    """Factory of a tiny discovery-style classification task."""

    def make(**kwargs: Any) -> ClassificationTask:
        torch.manual_seed(0)
        model = TinyClassifier(3, len(DISCOVERY_CLASSES))
        options: dict[str, Any] = {
            "model_config": model_config(model, in_channels=3, num_classes=len(DISCOVERY_CLASSES)),
            "class_names": DISCOVERY_CLASSES,
            "optimizer": partial(torch.optim.SGD, lr=1e-2),
        }
        options.update(kwargs)
        return ClassificationTask(model=model, **options)

    return make


@pytest.fixture
def segmentation_data() -> TinyDataModule:
    """Eight 8x8 three-band samples with masks over the segmentation classes."""
    return TinyDataModule("segmentation", SEGMENTATION_CLASSES)


@pytest.fixture
def discovery_data() -> TinyDataModule:
    """Eight 8x8 three-band patches labelled mine / not_mine."""
    return TinyDataModule("classification", DISCOVERY_CLASSES)
