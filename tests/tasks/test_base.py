"""BaseTask: optimizer and scheduler partials, W&B panels and confusion charts."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
import torch
from lightning.pytorch.loggers import WandbLogger

from minegeo.tasks import SegmentationTask
from tests.tasks.tiny import TinyDataModule, make_trainer

MakeTask = Callable[..., SegmentationTask]


class RecordingWandbLogger(WandbLogger):
    """A WandbLogger whose run is a mock, so tests see what would be logged without W&B."""

    def __init__(self) -> None:
        super().__init__(offline=True)
        self.run = MagicMock()

    @property
    def experiment(self) -> Any:
        return self.run

    def logged_keys(self) -> set[str]:
        return {key for call in self.run.log.call_args_list for key in call.args[0]}


def test_optimizer_partial_is_completed_with_the_parameters(segmentation_task: MakeTask) -> None:
    task = segmentation_task(optimizer=partial(torch.optim.AdamW, lr=3e-4, weight_decay=0.01))
    optimizer = task.configure_optimizers()
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["lr"] == 3e-4
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(list(task.parameters()))


def test_scheduler_partial_is_completed_with_the_optimizer(segmentation_task: MakeTask) -> None:
    task = segmentation_task(scheduler=partial(torch.optim.lr_scheduler.StepLR, step_size=2))
    config: Any = task.configure_optimizers()
    assert isinstance(config["lr_scheduler"]["scheduler"], torch.optim.lr_scheduler.StepLR)
    assert config["lr_scheduler"]["scheduler"].optimizer is config["optimizer"]
    assert "monitor" not in config["lr_scheduler"]


def test_plateau_scheduler_watches_the_configured_metric(segmentation_task: MakeTask) -> None:
    task = segmentation_task(
        scheduler=partial(torch.optim.lr_scheduler.ReduceLROnPlateau, patience=0),
        scheduler_monitor="val/iou_fg",
    )
    config: Any = task.configure_optimizers()
    assert config["lr_scheduler"]["monitor"] == "val/iou_fg"


def test_plateau_scheduler_finds_its_metric_during_fit(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    task = segmentation_task(scheduler=partial(torch.optim.lr_scheduler.ReduceLROnPlateau, patience=0))
    trainer = make_trainer(max_epochs=2)
    trainer.fit(task, datamodule=segmentation_data)
    assert trainer.lr_scheduler_configs[0].monitor == "val/loss"


def test_panels_and_confusion_go_to_wandb(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    logger = RecordingWandbLogger()
    task = segmentation_task(log_images=3)
    make_trainer(logger=logger).fit(task, datamodule=segmentation_data)
    samples = [
        call.args[0]["val/samples"] for call in logger.run.log.call_args_list if "val/samples" in call.args[0]
    ]
    assert len(samples) == 1 and len(samples[0]) == 3
    assert {"val/confusion_matrix", "train/confusion_matrix"} <= logger.logged_keys()


def test_panels_are_skipped_without_wandb(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule
) -> None:
    task = segmentation_task(log_images=3)
    make_trainer().fit(task, datamodule=segmentation_data)
    assert task._panels == []
    assert set(task.confusion_matrices) == {"train", "val"}


@pytest.mark.slow
def test_offline_wandb_run_receives_panels(
    segmentation_task: MakeTask,
    segmentation_data: TinyDataModule,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import wandb

    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(save_dir=tmp_path, offline=True, project="minegeo-test")
    make_trainer(logger=logger).fit(segmentation_task(log_images=2), datamodule=segmentation_data)
    wandb.finish()
    assert len(list(tmp_path.rglob("media/images/val/samples_*.png"))) == 2


def test_segmentation_panels_draw_any_foreground(segmentation_task: MakeTask) -> None:
    logits = torch.log(torch.tensor([0.5, 0.2, 0.3]))[None, :, None, None]
    probability, name = segmentation_task().panel_probability(logits)
    assert name == "p(foreground)"
    assert probability.item() == pytest.approx(0.5)


def test_classification_panels_draw_the_first_class(classification_task: Callable[..., Any]) -> None:
    probability, name = classification_task().panel_probability(torch.log(torch.tensor([[0.8, 0.2]])))
    assert name == "p(mine)"
    assert probability.item() == pytest.approx(0.8)


def test_sample_sides_must_be_multiples_of_the_models() -> None:
    from minegeo.errors import MinegeoInputError
    from minegeo.models import DiscoveryFCN, smp_model
    from minegeo.tasks.base import check_sample_sizes

    unet = smp_model(  # a stride-16 encoder at half resolution: multiples of 32
        "Unet",
        in_channels=3,
        encoder_depth=4,
        downsample=2,
        arch_args={"Unet": {"decoder_channels": [8] * 4}},
    )
    check_sample_sizes(unet, {"data.patch_size": 448, "data.crop_size": None})
    with pytest.raises(MinegeoInputError, match=r"^data\.crop_size=200: .* multiples of 32 px"):
        check_sample_sizes(unet, {"data.patch_size": 448, "data.crop_size": 200})
    check_sample_sizes(DiscoveryFCN(in_channels=3), {"data.patch_size": 201})  # a window model: any side
