"""SegmentationTask: training, metrics, the bundle round trip and input checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch

from minegeo.bundle import BUNDLE_KEY
from minegeo.errors import MinegeoInputError
from minegeo.tasks import SegmentationLoss, SegmentationTask, load_bundle
from tests.tasks.tiny import TinyDataModule, make_trainer

MakeTask = Callable[..., SegmentationTask]


def test_fit_logs_loss_and_metrics_per_stage(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    task = segmentation_task()
    trainer = make_trainer()
    trainer.fit(task, datamodule=segmentation_data)
    logged = trainer.callback_metrics
    for key in (
        "val/loss",
        "val/iou",
        "val/f1",
        "val/iou_fg",
        "val/f1_mine",
        "val/iou_tailings_dam",
        "train/iou",
    ):
        assert key in logged, key
    assert torch.isfinite(logged["val/loss"])


def test_confusion_matrix_counts_only_valid_pixels(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    task = segmentation_task()
    make_trainer().validate(task, datamodule=segmentation_data)
    # one val batch of 4 samples, 8x8 pixels, whose first row (8 pixels) is nodata
    assert task.confusion_matrices["val"].sum() == 4 * 7 * 8


def test_test_stage_logs_test_metrics(segmentation_task: MakeTask, segmentation_data: TinyDataModule) -> None:
    task = segmentation_task()
    trainer = make_trainer()
    results = trainer.test(task, datamodule=segmentation_data)
    assert {"test/loss", "test/iou", "test/f1_fg", "test/accuracy"} <= set(results[0])


def test_checkpoint_bundle_rebuilds_the_trained_model(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule, tmp_path: Path
) -> None:
    task = segmentation_task()
    trainer = make_trainer()
    trainer.fit(task, datamodule=segmentation_data)
    trainer.save_checkpoint(tmp_path / "best.ckpt")
    bundle, model = load_bundle(tmp_path / "best.ckpt")
    assert bundle.kind == "segmentation"
    assert bundle.class_names == ("background", "mine", "tailings_dam")
    assert bundle.patch_size == 8
    assert bundle.preprocessing == segmentation_data.preprocessing
    assert bundle.geometry == task.model.geometry
    image = segmentation_data.samples[0]["image"][None]
    task.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(image), task(image))


def test_resume_restores_the_bundle_from_the_checkpoint(segmentation_task: MakeTask, tmp_path: Path) -> None:
    trained = segmentation_task()
    trainer = make_trainer()
    trainer.fit(trained, datamodule=TinyDataModule("segmentation", trained.class_names, patch_size=8))
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    resumed = segmentation_task()
    larger_patches = TinyDataModule("segmentation", trained.class_names, patch_size=16)
    make_trainer(max_epochs=2).fit(resumed, datamodule=larger_patches, ckpt_path=tmp_path / "last.ckpt")
    assert resumed.bundle == trained.bundle


def test_resume_on_reordered_bands_is_refused(segmentation_task: MakeTask, tmp_path: Path) -> None:
    trained = segmentation_task()
    trainer = make_trainer()
    trainer.fit(
        trained, datamodule=TinyDataModule("segmentation", trained.class_names, bands=("B4", "B3", "B2"))
    )
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    reordered = TinyDataModule("segmentation", trained.class_names, bands=("B2", "B3", "B4"))
    with pytest.raises(MinegeoInputError, match=r"trained with preprocessing .*'B4', 'B3', 'B2'"):
        make_trainer(max_epochs=2).fit(
            segmentation_task(), datamodule=reordered, ckpt_path=tmp_path / "last.ckpt"
        )


def test_mismatched_classes_stop_before_training(segmentation_task: MakeTask) -> None:
    task = segmentation_task(class_names=("background", "mine", "tailings_dam"))
    data = TinyDataModule("segmentation", ("background", "tailings"))
    with pytest.raises(MinegeoInputError, match=r"classes \['background', 'tailings'\] differ"):
        make_trainer().fit(task, datamodule=data)


def test_mismatched_in_channels_name_both_numbers(segmentation_task: MakeTask) -> None:
    task = segmentation_task(in_channels=12)
    data = TinyDataModule("segmentation", task.class_names, bands=("B2", "B3", "B4"))
    with pytest.raises(MinegeoInputError, match="takes 12 input channels but the data has 3 bands"):
        make_trainer().fit(task, datamodule=data)


def test_datamodule_without_preprocessing_is_refused(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    segmentation_data.preprocessing = None  # type: ignore[assignment]
    with pytest.raises(MinegeoInputError, match="exposing preprocessing, class_names, patch_size"):
        make_trainer().fit(segmentation_task(), datamodule=segmentation_data)


def test_loss_config_selects_terms(segmentation_task: MakeTask) -> None:
    task = segmentation_task(loss=partial(SegmentationLoss, {"ce": 1.0, "dice": 0.5, "focal": 0.0}))
    assert isinstance(task.criterion, SegmentationLoss)
    assert set(task.criterion.terms) == {"ce", "dice"}


def test_predict_returns_probabilities(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    task = segmentation_task()
    batches = make_trainer().predict(task, datamodule=segmentation_data)
    probabilities = torch.cat(batches)  # type: ignore[arg-type]
    assert probabilities.shape == (8, 3, 8, 8)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(8, 8, 8))


def test_model_config_without_target_is_refused(segmentation_task: MakeTask) -> None:
    with pytest.raises(MinegeoInputError, match="has no _target_"):
        segmentation_task(model_config={"in_channels": 3})


def test_bundle_key_is_written_on_save(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    task = segmentation_task()
    make_trainer(max_steps=1).fit(task, datamodule=segmentation_data)
    checkpoint: dict = {}
    task.on_save_checkpoint(checkpoint)
    assert checkpoint[BUNDLE_KEY]["model_config"]["_target_"] == "tests.tasks.tiny.TinySegmenter"


def test_one_cycle_schedule_steps_per_batch_over_the_whole_run(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    scheduler = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=1e-2, pct_start=0.1)
    task = segmentation_task(scheduler=scheduler, scheduler_interval="step")
    trainer = make_trainer(max_epochs=3)
    trainer.fit(task, datamodule=segmentation_data)
    one_cycle = trainer.lr_scheduler_configs[0]
    assert one_cycle.interval == "step"
    assert one_cycle.scheduler.total_steps == 6  # type: ignore[attr-defined]  # 3 epochs x 2 batches
    assert one_cycle.scheduler.last_epoch == 6  # type: ignore[attr-defined]


@pytest.mark.parametrize("epochs", [1, 5])  # 5 x 2 batches: a warm-up of 0.1 x 10 = one step
def test_one_cycle_schedule_runs_short_trainings(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule, epochs: int
) -> None:
    scheduler = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=1e-2, pct_start=0.1)
    task = segmentation_task(scheduler=scheduler, scheduler_interval="step")
    trainer = make_trainer(max_epochs=epochs)
    trainer.fit(task, datamodule=segmentation_data)
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == 2 * epochs  # type: ignore[attr-defined]


def test_unknown_scheduler_interval_is_refused(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    scheduler = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=1e-2)
    with pytest.raises(MinegeoInputError, match="scheduler_interval=batch"):
        make_trainer().fit(
            segmentation_task(scheduler=scheduler, scheduler_interval="batch"), datamodule=segmentation_data
        )
