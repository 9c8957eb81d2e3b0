"""Tests for decoded blocks: windows as GDAL reads them, each block decoded once, memory bounded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from minegeo.inference.blocks import SceneBlocks, UnitArrays, UnitGrid
from minegeo.inference.tiling import tile_starts
from tests.inference.predict_helpers import TRANSFORM

SIZE = 24


def _tiled_scene(path: Path, height: int, width: int, nodata: float | None = None) -> Path:
    """Random uint16 reflectance in 16 px tiles, pixel-interleaved, with a nodata stripe."""
    data = np.random.default_rng(1).integers(1, 10_000, (12, height, width), dtype=np.uint16)
    if nodata is not None:
        data[:, 5:9, 20:40] = nodata
    profile = {"driver": "GTiff", "height": height, "width": width, "count": 12, "dtype": "uint16",
               "crs": "EPSG:32723", "transform": TRANSFORM, "nodata": nodata, "tiled": True,
               "blockxsize": 16, "blockysize": 16, "interleave": "pixel", "compress": "deflate"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def _windows(height: int, width: int) -> list[tuple[int, int]]:
    """Overlapping windows like a plan's, the first reaching past the top-left corner."""
    rows, cols = tile_starts(height, SIZE, SIZE - 6), tile_starts(width, SIZE, SIZE - 6)
    return [(-4, -4)] + [(r, c) for r in rows for c in cols]


def _expected(path: Path, row: int, col: int) -> np.ndarray:
    """The window as GDAL reads it, (size, size, bands), NaN outside the scene and at nodata."""
    with rasterio.open(path) as src:
        out = np.full((12, SIZE, SIZE), np.nan, np.float32)
        top, left = max(row, 0), max(col, 0)
        bottom, right = min(row + SIZE, src.height), min(col + SIZE, src.width)
        data = src.read(window=Window(left, top, right - left, bottom - top), out_dtype=np.float32)
        if src.nodata is not None:
            data[data == src.nodata] = np.nan
        out[:, top - row : bottom - row, left - col : right - col] = data
    return out.transpose(1, 2, 0)


def _read_all(
    blocks: SceneBlocks, pool: ThreadPoolExecutor | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    windows = []
    for number in range(len(blocks.windows)):
        out, valid = np.empty((SIZE, SIZE, 12), np.float32), np.empty((SIZE, SIZE), bool)
        blocks.read(number, out, valid, pool)
        windows.append((out, valid))
    return windows


def test_units_line_up_with_blocks_and_striped_files_get_full_width_units() -> None:
    tiled = UnitGrid.for_raster(1000, 700, (256, 256))
    assert (tiled.unit_height, tiled.unit_width) == (512, 512)
    striped = UnitGrid.for_raster(1000, 2048, (1, 2048))
    assert (striped.unit_height, striped.unit_width) == (128, 2048)
    assert tiled.units(-10, 500, 30) == [(0, 0), (0, 1)]
    assert tiled.units(990, 690, 30) == [(1, 1)] and tiled.bounds((1, 1)) == (512, 512, 1000, 700)
    assert tiled.units(-40, 0, 30) == []


@pytest.mark.parametrize("threads", [0, 2])
def test_windows_equal_gdal_reads_and_each_block_is_decoded_once(tmp_path: Path, threads: int) -> None:
    scene = _tiled_scene(tmp_path / "s.tif", 70, 90, nodata=0)
    windows = _windows(70, 90)
    blocks = SceneBlocks(scene, range(1, 13), 0, windows, SIZE, unit_side=32)
    with ThreadPoolExecutor(threads) if threads else nullcontext() as pool:
        read = _read_all(blocks, pool)
    for (row, col), (out, valid) in zip(windows, read, strict=True):
        expected = _expected(scene, row, col)
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(valid, np.isfinite(expected).all(axis=2))
    assert blocks.decoded == 9  # 70 x 90 px in 32 px units: 3 x 3, each decoded once
    assert blocks.cached_bytes == 0  # every unit dropped after its last window


def test_a_small_budget_decodes_again_but_stays_within_it(tmp_path: Path) -> None:
    scene = _tiled_scene(tmp_path / "s.tif", 70, 90)
    windows = _windows(70, 90)
    unit_mb = 32 * 32 * 12 * 4 / 2**20
    blocks = SceneBlocks(scene, range(1, 13), None, windows, SIZE, budget_mb=2 * unit_mb, unit_side=32)
    for number, (row, col) in enumerate(windows):
        out, valid = np.empty((SIZE, SIZE, 12), np.float32), np.empty((SIZE, SIZE), bool)
        blocks.read(number, out, valid)
        np.testing.assert_array_equal(out, _expected(scene, row, col))
        assert blocks.cached_bytes <= 2 * 32 * 32 * 12 * 4
    assert blocks.decoded > 9


def test_band_subset_is_read_in_the_asked_order(tmp_path: Path) -> None:
    scene = _tiled_scene(tmp_path / "s.tif", 40, 40)
    blocks = SceneBlocks(scene, [4, 3, 2], None, [(0, 0)], SIZE, unit_side=32)
    out, valid = np.empty((SIZE, SIZE, 3), np.float32), np.empty((SIZE, SIZE), bool)
    blocks.read(0, out, valid)
    np.testing.assert_array_equal(out, _expected(scene, 0, 0)[..., [3, 2, 1]])
    assert valid.all()


def test_a_window_needing_one_unit_also_decodes_the_next_windows_for_the_other_threads(
    tmp_path: Path,
) -> None:
    scene = _tiled_scene(tmp_path / "s.tif", 16, 64)
    windows = [(0, 0), (0, 16), (0, 32), (0, 48)]  # one 16 px unit each
    blocks = SceneBlocks(scene, range(1, 13), None, windows, 16, unit_side=16, parallel=2)
    decoded = []
    with ThreadPoolExecutor(2) as pool:
        for number, (row, col) in enumerate(windows):
            out, valid = np.empty((16, 16, 12), np.float32), np.empty((16, 16), bool)
            blocks.read(number, out, valid, pool)
            decoded.append(blocks.decoded)
            np.testing.assert_array_equal(out, _expected(scene, row, col)[:16, :16])
    assert decoded == [2, 2, 4, 4]  # two units at a time, each once


def test_unit_arrays_lend_a_spare_large_enough_and_keep_spares_within_room() -> None:
    arrays = UnitArrays()
    big = arrays.take((4, 4, 3))
    arrays.give(big, room=big.nbytes)
    small = arrays.take((2, 4, 3))  # an edge unit reuses the larger array
    assert small.shape == (2, 4, 3) and np.shares_memory(small, big)
    arrays.give(small, room=big.nbytes - 1)  # its whole array does not fit the room: let go
    assert arrays.spare_bytes == 0
    fresh = arrays.take((4, 4, 3))
    assert not np.shares_memory(fresh, big)


def test_later_scene_decodes_into_the_earlier_scenes_arrays_within_budget(tmp_path: Path) -> None:
    first, second = _tiled_scene(tmp_path / "a.tif", 70, 90), _tiled_scene(tmp_path / "b.tif", 70, 90)
    unit_bytes = 32 * 32 * 12 * 4
    arrays = UnitArrays()
    budget_mb = 4 * unit_bytes / 2**20
    windows = _windows(70, 90)
    earlier = SceneBlocks(first, range(1, 13), None, windows, SIZE, budget_mb, unit_side=32, arrays=arrays)
    for number in range(len(windows)):
        earlier.read(number, np.empty((SIZE, SIZE, 12), np.float32), np.empty((SIZE, SIZE), bool))
        assert earlier.cached_bytes + arrays.spare_bytes <= 4 * unit_bytes
    earlier.close()
    spares = list(arrays._spare)
    assert arrays.spare_bytes > 0
    later = SceneBlocks(second, range(1, 13), None, windows, SIZE, budget_mb, unit_side=32, arrays=arrays)
    out, valid = np.empty((SIZE, SIZE, 12), np.float32), np.empty((SIZE, SIZE), bool)
    later.read(1, out, valid)
    np.testing.assert_array_equal(out, _expected(second, *windows[1]))
    held = [decoded.pixels for decoded in later._cache.values()]
    assert all(any(np.shares_memory(pixels, spare) for spare in spares) for pixels in held)
