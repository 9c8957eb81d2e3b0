"""Weight EMA: the average is what checkpoints hold, calibration fits and test measures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from minegeo.bundle import load_bundle
from minegeo.tasks import SegmentationTask
from minegeo.tasks.averaging import WeightEMA
from minegeo.tasks.calibration import Calibrate
from tests.tasks.tiny import TinyDataModule, make_trainer

MakeTask = Callable[..., SegmentationTask]


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [tensor.detach().clone() for tensor in [*model.parameters(), *model.buffers()]]


def test_checkpoint_predict_and_test_use_the_averaged_weights(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule, tmp_path: Path
) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="best", monitor=None)
    ema = WeightEMA(decay=0.5)
    trainer = make_trainer(
        enable_checkpointing=True, callbacks=[checkpoint, ema, Calibrate(bias=False)], max_epochs=3
    )
    task = segmentation_task()
    trainer.fit(task, datamodule=segmentation_data)
    assert ema._average_model is not None
    average = _weights(ema._average_model.module.model)
    saved = torch.load(tmp_path / "best.ckpt", map_location="cpu", weights_only=False)
    raw = [v for k, v in saved["current_model_state"].items() if k.startswith("model.")]
    assert any(not torch.equal(a, r) for a, r in zip(average, raw, strict=True))

    _, model = load_bundle(tmp_path / "best.ckpt")
    for loaded, expected in zip(_weights(model.model), average, strict=True):
        torch.testing.assert_close(loaded, expected)

    tested = trainer.test(task, datamodule=segmentation_data, ckpt_path=tmp_path / "best.ckpt", verbose=False)
    alone = segmentation_task()
    alone.load_state_dict(saved["state_dict"])
    reference = make_trainer().test(alone, datamodule=segmentation_data, verbose=False)
    assert tested[0] == reference[0]
