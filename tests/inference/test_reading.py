"""Tests for window reading: full-width strips decoded once, windows cut into one batch array."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch
from rasterio.windows import Window

from minegeo.bundle import ModelGeometry
from minegeo.inference.reading import SceneJob, StripReader, WindowDataset, column_segments
from minegeo.inference.tiling import Chunk, segmentation_plan, strided_plan
from tests.inference.predict_helpers import TRANSFORM, random_scene

GEOMETRY = ModelGeometry(size_multiple=16, min_size=16)


def _job(scene: Path, tile: int = 32, geometry: ModelGeometry = GEOMETRY) -> SceneJob:
    with rasterio.open(scene) as src:
        height, width, transform, crs, nodata = src.height, src.width, src.transform, src.crs, src.nodata
        bands = list(range(1, src.count + 1))
    if geometry.output_stride == 1:
        plan = segmentation_plan(height, width, geometry, tile, 8)
    else:
        plan = strided_plan(height, width, geometry, 3)
    return SceneJob(
        "s", scene, scene.with_suffix(".prob.tif"), bands, plan, height, width, transform, crs, nodata
    )


def _tiled(path: Path, data: np.ndarray, block: int = 16, **profile: Any) -> Path:
    """A tiled GeoTIFF (blocks of ``block`` px) of ``data`` (bands, rows, cols)."""
    options = {"driver": "GTiff", "height": data.shape[1], "width": data.shape[2], "count": data.shape[0],
               "dtype": data.dtype, "crs": "EPSG:32723", "transform": TRANSFORM, "tiled": True,
               "blockxsize": block, "blockysize": block, **profile}  # fmt: skip
    with rasterio.open(path, "w", **options) as dst:
        dst.write(data)
    return path


def test_batch_holds_each_window_channels_last(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 70, 50)
    dataset = WindowDataset([_job(scene)], GEOMETRY)
    batch = dataset.__getitems__([0, 1])
    assert batch["image"].shape == (2, 12, 32, 32)
    assert batch["image"].is_contiguous(memory_format=torch.channels_last)
    with rasterio.open(scene) as src:
        chunk = dataset.jobs[0].plan.chunks[1]
        expected = src.read(window=Window(chunk.col, chunk.row, 32, 32))
    np.testing.assert_array_equal(batch["image"][1].numpy(), expected)
    assert batch["chunk"].tolist() == [0, 1] and batch["error"] == ["", ""]


def test_every_window_equals_a_direct_read_and_each_row_is_decoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = np.random.default_rng(1).random((3, 100, 90), dtype=np.float32)
    scene = _tiled(tmp_path / "s.tif", data)
    job = _job(scene)  # tiles of 32 px every 24 px: rows of windows share 8 rows
    decoded: list[int] = []
    original = rasterio.io.DatasetReader.read

    def counting_read(self: Any, *args: Any, **kwargs: Any) -> Any:
        decoded.append(kwargs["window"].height)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting_read)
    reader = StripReader(job)
    out = np.empty((32, 32, 3), np.float32)
    for chunk in job.plan.chunks:
        reader.read(chunk, out)
        expected = data[:, chunk.row : chunk.row + 32, chunk.col : chunk.col + 32]
        np.testing.assert_array_equal(
            out[: expected.shape[1], : expected.shape[2]], expected.transpose(1, 2, 0)
        )
    reader.close()
    assert sum(decoded) == 100  # whole blocks, carried between strips, never decoded twice


FCN_GEOMETRY = ModelGeometry(receptive_field=21, output_stride=4, offset=10, min_size=21)


@pytest.mark.parametrize("geometry", [GEOMETRY, FCN_GEOMETRY])
def test_a_wide_scene_is_read_in_column_segments_each_block_once_per_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, geometry: ModelGeometry
) -> None:
    data = np.random.default_rng(5).random((3, 100, 150), dtype=np.float32)
    job = _job(_tiled(tmp_path / "s.tif", data), geometry=geometry)
    decoded: list[Window] = []
    original = rasterio.io.DatasetReader.read

    def counting_read(self: Any, *args: Any, **kwargs: Any) -> Any:
        decoded.append(kwargs["window"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting_read)
    size = job.plan.read_size
    strip_mb = 2 * size * (size + 16) * 3 * 4 / 2**20  # room for two windows side by side
    reader = StripReader(job, strip_mb=strip_mb)
    segments = sorted(set(reader.segments.values()))
    assert len(segments) >= 3 and reader.strip.shape[1] <= 2 * size
    padded = np.full((3, 100 + 2 * size, 150 + 2 * size), np.nan, np.float32)
    padded[:, size : size + 100, size : size + 150] = data
    out = np.empty((size, size, 3), np.float32)
    for chunk in job.plan.chunks:
        reader.read(chunk, out)
        window = padded[:, size + chunk.row : 2 * size + chunk.row, size + chunk.col : 2 * size + chunk.col]
        np.testing.assert_array_equal(out, window.transpose(1, 2, 0))
    reader.close()
    for left, right in segments:  # each segment decodes its columns' rows once, top to bottom
        rows = [w.height for w in decoded if (w.col_off, w.col_off + w.width) == (left, right)]
        assert sum(rows) == 100
    assert len(decoded) == sum(1 for w in decoded if (w.col_off, w.col_off + w.width) in segments)


def test_column_segments_are_runs_of_whole_windows_never_narrower_than_one() -> None:
    plan = segmentation_plan(40, 200, GEOMETRY, 32, 8)  # windows every 24 px
    segments = column_segments(plan, 200, 60)
    assert sorted(set(segments.values())) == [(0, 56), (48, 104), (96, 152), (144, 200)]
    assert set(column_segments(plan, 200, 10).values()) == {(c, c + 32) for c in plan.col_starts}
    assert set(column_segments(plan, 200, 10**6).values()) == {(0, 200)}


def test_window_past_the_edge_reads_nodata_outside(tmp_path: Path) -> None:
    data = np.random.default_rng(2).random((12, 20, 20), dtype=np.float32)
    reader = StripReader(_job(_tiled(tmp_path / "s.tif", data)))
    out = np.empty((32, 32, 12), np.float32)  # the plan's tiles
    reader.read(Chunk(10, -4, 0, 0, 1, 1, 0), out)
    assert np.isnan(out[:, :4]).all() and np.isnan(out[10:]).all() and np.isnan(out[:, 24:]).all()
    np.testing.assert_array_equal(out[:10, 4:24], data[:, 10:20, :].transpose(1, 2, 0))
    reader.close()


def test_windows_read_out_of_order_are_still_right(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 100, 60)
    in_order, shuffled = WindowDataset([_job(scene)], GEOMETRY), WindowDataset([_job(scene)], GEOMETRY)
    count = len(in_order)
    expected = [in_order.__getitems__([n])["image"] for n in range(count)]
    for n in [count - 1, 0, 5, 2, count - 2]:  # what a worker's share of the batches looks like
        torch.testing.assert_close(shuffled.__getitems__([n])["image"], expected[n], equal_nan=True)


def test_fcn_halo_windows_match_direct_reads(tmp_path: Path) -> None:
    geometry = ModelGeometry(receptive_field=21, output_stride=4, offset=10, min_size=21)
    data = np.random.default_rng(3).random((2, 70, 60), dtype=np.float32)
    job = _job(_tiled(tmp_path / "s.tif", data), geometry=geometry)
    reader, size = StripReader(job), job.plan.read_size
    padded = np.full((2, 70 + 2 * size, 60 + 2 * size), np.nan, np.float32)
    padded[:, size : size + 70, size : size + 60] = data
    out = np.empty((size, size, 2), np.float32)
    assert any(chunk.row < 0 for chunk in job.plan.chunks)
    for chunk in job.plan.chunks:
        reader.read(chunk, out)
        window = padded[:, size + chunk.row : 2 * size + chunk.row, size + chunk.col : 2 * size + chunk.col]
        np.testing.assert_array_equal(out, window.transpose(1, 2, 0))
    reader.close()


def test_uint16_digital_numbers_are_read_natively_with_nodata_as_nan(tmp_path: Path) -> None:
    data = np.random.default_rng(4).integers(1, 10000, (12, 40, 40), dtype=np.uint16)
    data[:, :5, :5] = 0
    scene = _tiled(tmp_path / "s.tif", data, nodata=0)
    reader = StripReader(_job(scene))
    assert reader.strip.dtype == np.uint16  # half the memory of float32 strips
    batch = WindowDataset([_job(scene)], GEOMETRY).__getitems__([0])
    image = batch["image"][0].numpy()
    assert np.isnan(image[:, :5, :5]).all() and not batch["valid"][0, :5, :5].any()
    np.testing.assert_array_equal(image[:, 5:32, 5:32], data[:, 5:32, 5:32].astype(np.float32))
    assert batch["valid"][0, 5:, 5:].all()


def test_batches_never_span_two_scenes(tmp_path: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 40, 40)  # 2 x 2 tiles of 32, 1 tile of 48
    dataset = WindowDataset([_job(scene), _job(scene), _job(scene, 48)], GEOMETRY)
    assert dataset.batches(3) == [[0, 1, 2], [3], [4, 5, 6], [7], [8]]
    batch = dataset.__getitems__([8])
    assert batch["image"].shape == (1, 12, 48, 48)


def test_dataset_pickles_after_reading(tmp_path: Path) -> None:
    dataset = WindowDataset([_job(random_scene(tmp_path / "s.tif", 40, 40))], GEOMETRY)
    dataset.__getitems__([0, 1])  # opens the scene
    copy = pickle.loads(pickle.dumps(dataset))
    got, expected = copy.__getitems__([2])["image"], dataset.__getitems__([2])["image"]
    torch.testing.assert_close(got, expected, equal_nan=True)
    dataset.close()
    copy.close()


def test_train_and_predict_normalise_a_window_alike(tmp_path: Path) -> None:
    from torch import nn

    from minegeo.bundle import Preprocessing
    from minegeo.datamodules.base import MinegeoDataModule
    from minegeo.inference.engine import Predictor

    data = np.random.default_rng(5).integers(1, 10000, (3, 32, 32), dtype=np.uint16)
    data[:, :4, :6] = 0  # nodata
    data[1, 20, 20] = 0  # one band's nodata
    scene = _tiled(tmp_path / "s.tif", data, nodata=0)
    pre = Preprocessing(
        bands=("B4", "B3", "B2"), mean=(0.1, 0.2, 0.3), std=(0.05, 0.1, 0.2), reflectance_scale=1e-4
    )

    class Recorder(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.seen = x.clone()
            return x[:, :2]

    recorder = Recorder()
    Predictor([recorder], [pre], channels_last=False).predict_step(
        WindowDataset([_job(scene)], GEOMETRY).__getitems__([0]), 0
    )
    datamodule = MinegeoDataModule.__new__(MinegeoDataModule)
    datamodule.preprocessing, datamodule.augmentation = pre, None
    raw = np.where(data == 0, np.nan, data).astype(np.float32)  # the training readers' nodata: NaN
    trained = datamodule.on_after_batch_transfer({"image": torch.from_numpy(raw[None])}, 0)["image"]
    assert trained[0, 1, 20, 20] == 0 and trained[0, 0, 20, 20] != 0
    torch.testing.assert_close(recorder.seen, trained.contiguous(), rtol=0, atol=0)
