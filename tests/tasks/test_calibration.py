"""Calibration: temperature and bias fitted on validation logits, kept in and applied from the bundle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from minegeo.bundle import Bundle, CalibratedModel, Calibration, ModelGeometry, load_bundle
from minegeo.tasks import SegmentationTask
from minegeo.tasks.calibration import Calibrate, fit_calibration
from tests.tasks.tiny import TinyDataModule, make_trainer

MakeTask = Callable[..., SegmentationTask]


def test_fit_recovers_a_known_temperature_and_bias() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(20000, 2, generator=generator)
    true = Calibration(temperature=2.5, bias=(0.6, -0.6))
    target = torch.multinomial(true.apply(logits).softmax(1), 1, generator=generator)[:, 0]
    fitted = fit_calibration(logits, target)
    assert fitted.temperature == pytest.approx(2.5, rel=0.1)
    assert fitted.bias == pytest.approx((0.6, -0.6), abs=0.1)


def test_temperature_only_fits_no_bias() -> None:
    logits = torch.tensor([[4.0, -4.0], [-4.0, 4.0]] * 50)
    target = torch.tensor([0, 1] * 40 + [1, 0] * 10)  # confident logits, 80 % right: too sharp
    fitted = fit_calibration(logits, target, bias=False)
    assert fitted.bias == ()
    assert fitted.temperature > 1.5


def test_apply_shifts_each_class_after_scaling() -> None:
    logits = torch.zeros(1, 2, 3, 3)
    logits[:, 1] = 4.0
    out = Calibration(temperature=2.0, bias=(0.5, -0.5)).apply(logits)
    assert torch.allclose(out[:, 0], torch.full((1, 3, 3), 0.5))
    assert torch.allclose(out[:, 1], torch.full((1, 3, 3), 1.5))
    assert Calibration().apply(logits) is logits


def test_bundle_round_trip_keeps_calibration_and_old_bundles_read_as_identity(
    segmentation_data: TinyDataModule,
) -> None:
    pre = segmentation_data.preprocessing
    bundle = Bundle("segmentation", ("a", "b"), 8, pre, ModelGeometry(), {"_target_": "x"})
    calibrated = Bundle.from_dict(
        {**bundle.to_dict(), "calibration": {"temperature": 0.5, "bias": [1.0, -1.0]}}
    )
    assert calibrated.calibration == Calibration(0.5, (1.0, -1.0))
    assert Bundle.from_dict(calibrated.to_dict()) == calibrated
    old = bundle.to_dict()
    old.pop("calibration")
    assert Bundle.from_dict(old).calibration.is_identity


def test_callback_calibrates_the_best_checkpoint_and_predict_applies_it(
    segmentation_task: MakeTask, segmentation_data: TinyDataModule, tmp_path: Path
) -> None:
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="best", monitor=None)
    calibrate = Calibrate()
    trainer = make_trainer(enable_checkpointing=True, callbacks=[checkpoint, calibrate], max_epochs=2)
    trainer.fit(segmentation_task(), datamodule=segmentation_data)
    assert calibrate.nll is not None and calibrate.nll[1] <= calibrate.nll[0]
    bundle, model = load_bundle(tmp_path / "best.ckpt")
    assert not bundle.calibration.is_identity
    assert isinstance(model, CalibratedModel)
    image = segmentation_data.samples[0]["image"][None]
    with torch.no_grad():
        torch.testing.assert_close(model(image), bundle.calibration.apply(model.model(image)))
