"""GPU paths: training and predict on CUDA, bf16, read-ahead, DDP on one device (skipped without CUDA)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from minegeo.inference import run_predict
from minegeo.train import train
from tests.inference.predict_helpers import fcn_ckpt, predict_config, random_scene, unet_ckpt
from tests.test_train import SMALL, compose_train, world_overrides

__all__ = ["fcn_ckpt", "unet_ckpt"]

pytestmark = pytest.mark.gpu

#: convolutions on CUDA may use TF32, which keeps 10 bits of mantissa
TF32_ATOL = 2e-3
#: bf16 keeps 8 bits: probabilities move by a few hundredths at most
BF16_ATOL = 0.05


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def _predict(ckpt: Path, scene: Path, out: Path, **settings: object) -> np.ndarray:
    assert run_predict(predict_config(ckpt, scene, out, batch_size=2, **settings)) == 0
    return _read(out / f"{scene.stem}.prob.tif")


@pytest.mark.parametrize("model", ["fcn", "unet"])
def test_gpu_predict_matches_cpu(tmp_path: Path, fcn_ckpt: Path, unet_ckpt: Path, model: str) -> None:
    ckpt = fcn_ckpt if model == "fcn" else unet_ckpt
    scene = random_scene(tmp_path / "s.tif", 260, 230)
    cpu = _predict(ckpt, scene, tmp_path / "cpu", accelerator="cpu")
    gpu = _predict(ckpt, scene, tmp_path / "gpu", accelerator="gpu")
    assert np.isnan(gpu).sum() == np.isnan(cpu).sum() > 0  # the nodata corner stays nodata
    np.testing.assert_allclose(gpu, cpu, atol=TF32_ATOL)


def test_bf16_predict_stays_close_to_float32(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 200, 180)
    full = _predict(unet_ckpt, scene, tmp_path / "fp32", accelerator="gpu")
    half = _predict(unet_ckpt, scene, tmp_path / "bf16", accelerator="gpu", precision="bf16-mixed")
    np.testing.assert_allclose(half, full, atol=BF16_ATOL)
    finite = half[np.isfinite(half)]
    assert finite.min() >= 0 and finite.max() <= 1


def test_a_reader_process_on_gpu_equals_reading_in_turn(tmp_path: Path, fcn_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 215 + 27 * 9, 215 + 27 * 7)
    ahead = _predict(fcn_ckpt, scene, tmp_path / "ahead", accelerator="gpu", num_workers=1)
    turn = _predict(fcn_ckpt, scene, tmp_path / "turn", accelerator="gpu", num_workers=0)
    np.testing.assert_array_equal(ahead, turn)


def test_ddp_on_one_gpu_equals_a_plain_run(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 150, 130)
    plain = _predict(unet_ckpt, scene, tmp_path / "plain", accelerator="gpu")
    ddp = _predict(unet_ckpt, scene, tmp_path / "ddp", accelerator="gpu", devices=1, strategy="ddp")
    np.testing.assert_array_equal(ddp, plain)


@pytest.mark.parametrize("experiment", ["fcn_mines", "unet_mines"])
def test_bf16_training_on_gpu_gives_finite_metrics(
    experiment: str, small_world: Path, tmp_path: Path
) -> None:
    overrides = [
        f"+experiment={experiment}",
        "debug=fast",
        *world_overrides(small_world),
        *SMALL[experiment],
        "trainer.accelerator=gpu",
        "trainer.precision=bf16-mixed",
    ]
    metrics = train(compose_train(overrides, tmp_path), tmp_path)
    losses = {key: value for key, value in metrics.items() if key.endswith("loss")}
    assert losses and all(np.isfinite(value) for value in losses.values())
    assert json.loads((tmp_path / "metrics.json").read_text())["experiment"] == experiment
