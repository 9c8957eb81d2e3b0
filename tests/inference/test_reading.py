"""Tests for window reading: batches straight into one array, read ahead in a thread."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import rasterio
import torch

from minegeo.bundle import ModelGeometry
from minegeo.inference.reading import SceneJob, WindowDataset, read_window
from minegeo.inference.tiling import segmentation_plan
from tests.inference.predict_helpers import random_scene

GEOMETRY = ModelGeometry(size_multiple=16, min_size=16)


def _job(scene: Path, tile: int = 32) -> SceneJob:
    with rasterio.open(scene) as src:
        height, width, transform, crs = src.height, src.width, src.transform, src.crs
    plan = segmentation_plan(height, width, GEOMETRY, tile, 8)
    return SceneJob("s", scene, scene.with_suffix(".prob.tif"), list(range(1, 13)), plan, height, width,
                    transform, crs, None)  # fmt: skip


def _dataset(scene: Path, read_ahead: bool) -> WindowDataset:
    return WindowDataset([_job(scene)], GEOMETRY, read_ahead=read_ahead)


def test_batch_holds_each_window_channels_last(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 70, 50)
    dataset = _dataset(scene, read_ahead=False)
    batch = dataset.__getitems__([0, 1])
    assert batch["image"].shape == (2, 12, 32, 32)
    assert batch["image"].is_contiguous(memory_format=torch.channels_last)
    with rasterio.open(scene) as src:
        chunk = dataset.jobs[0].plan.chunks[1]
        expected = src.read(window=rasterio.windows.Window(chunk.col, chunk.row, 32, 32))
    np.testing.assert_array_equal(batch["image"][1].numpy(), expected)
    assert batch["chunk"].tolist() == [0, 1] and batch["error"] == ["", ""]


def test_reading_ahead_in_any_order_gives_the_asked_windows(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 70, 50)
    ahead, plain = _dataset(scene, read_ahead=True), _dataset(scene, read_ahead=False)
    try:
        for indexes in ([0, 1], [2, 3], [1, 2], [4, 5], [0]):  # a guess missed at [1, 2]
            got, expected = ahead.__getitems__(indexes), plain.__getitems__(indexes)
            torch.testing.assert_close(got["image"], expected["image"], equal_nan=True)
            assert got["chunk"].tolist() == indexes
    finally:
        ahead.close()


def test_window_past_the_edge_reads_nodata_outside(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 20, 20)
    out = np.empty((12, 16, 16), np.float32)
    with rasterio.open(scene) as src:
        read_window(src, list(range(1, 13)), 10, -4, out, None)
        inside = src.read(window=rasterio.windows.Window(0, 10, 12, 10))
    assert np.isnan(out[:, :, :4]).all() and np.isnan(out[:, 10:, :]).all()
    np.testing.assert_array_equal(out[:, :10, 4:], inside)


def test_batches_never_span_two_scenes(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 40, 40)  # 2 x 2 tiles of 32, 1 tile of 48
    dataset = WindowDataset([_job(scene), _job(scene), _job(scene, 48)], GEOMETRY)
    assert dataset.batches(3) == [[0, 1, 2], [3], [4, 5, 6], [7], [8]]
    batch = dataset.__getitems__([8])
    assert batch["image"].shape == (1, 12, 48, 48)


def test_dataset_pickles_after_reading(tmp_path: Path) -> None:
    dataset = _dataset(random_scene(tmp_path / "s.tif", 40, 40), read_ahead=True)
    dataset.__getitems__([0, 1])  # opens handles, threads, a lock and a batch buffer
    copy = pickle.loads(pickle.dumps(dataset))
    got, expected = copy.__getitems__([2])["image"], dataset.__getitems__([2])["image"]
    torch.testing.assert_close(got, expected, equal_nan=True)
    dataset.close()
    copy.close()
