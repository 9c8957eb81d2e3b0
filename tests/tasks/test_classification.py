"""ClassificationTask: FCN outputs squeezed to logits, class weights, metrics, bundle."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch

from minegeo.errors import MinegeoInputError
from minegeo.tasks import ClassificationTask, load_bundle
from tests.tasks.tiny import TinyDataModule, make_trainer

MakeTask = Callable[..., ClassificationTask]


def test_fit_logs_binary_discovery_metrics(
    classification_task: MakeTask, discovery_data: TinyDataModule
) -> None:
    trainer = make_trainer()
    trainer.fit(classification_task(), datamodule=discovery_data)
    assert {"val/loss", "val/f1", "val/f1_mine", "val/iou_not_mine", "val/accuracy"} <= set(
        trainer.callback_metrics
    )
    assert "val/iou_fg" not in trainer.callback_metrics


def test_fcn_output_is_squeezed_to_logits(classification_task: MakeTask) -> None:
    task = classification_task()
    assert task.logits(torch.zeros(5, 2, 1, 1)).shape == (5, 2)


def test_fcn_output_larger_than_one_cell_is_refused(classification_task: MakeTask) -> None:
    with pytest.raises(MinegeoInputError, match=r"\(2, 2\) cells per patch"):
        classification_task().logits(torch.zeros(5, 2, 2, 2))


def test_class_weights_reach_cross_entropy(classification_task: MakeTask) -> None:
    task = classification_task(
        class_weights=[1.0, 3.0], loss=partial(torch.nn.CrossEntropyLoss, label_smoothing=0.1)
    )
    assert isinstance(task.criterion, torch.nn.CrossEntropyLoss)
    assert task.criterion.weight is not None and task.criterion.weight.tolist() == [1.0, 3.0]
    assert task.criterion.label_smoothing == pytest.approx(0.1)


def test_predict_keeps_spatial_axes_for_sliding(classification_task: MakeTask) -> None:
    task = classification_task()
    probabilities = task.predict_step(torch.randn(1, 3, 24, 24), 0)
    assert probabilities.shape == (1, 2, 17, 17)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(1, 17, 17))


def test_checkpoint_bundle_is_a_classification_bundle(
    classification_task: MakeTask, discovery_data: TinyDataModule, tmp_path: Path
) -> None:
    task = classification_task()
    trainer = make_trainer(max_steps=1)
    trainer.fit(task, datamodule=discovery_data)
    trainer.save_checkpoint(tmp_path / "best.ckpt")
    bundle, model = load_bundle(tmp_path / "best.ckpt")
    assert (bundle.kind, bundle.class_names, bundle.geometry.receptive_field) == (
        "classification",
        ("mine", "not_mine"),
        8,
    )
    image = discovery_data.samples[0]["image"][None]
    task.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(image), task(image))
