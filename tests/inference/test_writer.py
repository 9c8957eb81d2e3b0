"""Tests for the probability COG writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from minegeo.inference.writer import ProbabilityWriter


def _writer(target: Path, dtype: str = "float32") -> ProbabilityWriter:
    return ProbabilityWriter(
        target,
        600,
        700,
        CRS.from_epsg(32723),
        Affine(10, 0, 0, 0, -10, 0),
        ["a", "b"],
        dtype,
        "deflate",
        {"checkpoint_hash": "abc"},
    )


def test_writes_a_cloud_optimized_geotiff(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "s.prob.tif")
    writer.write(0, 0, np.full((2, 600, 700), 0.5, np.float32), np.ones((600, 700), bool))
    writer.finish()
    with rasterio.open(tmp_path / "s.prob.tif") as src:
        assert src.is_tiled and src.overviews(1) and src.descriptions == ("a", "b")
        assert src.tags()["checkpoint_hash"] == "abc"


def test_nothing_under_the_final_name_before_finish(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "s.prob.tif")
    writer.write(0, 0, np.zeros((2, 10, 10), np.float32), np.ones((10, 10), bool))
    assert not (tmp_path / "s.prob.tif").exists()
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_uint8_nodata_and_scale(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "s.prob.tif", "uint8")
    valid = np.ones((600, 700), bool)
    valid[0, 0] = False
    writer.write(0, 0, np.full((2, 600, 700), 1.0, np.float32), valid)
    writer.finish()
    with rasterio.open(tmp_path / "s.prob.tif") as src:
        data = src.read()
        assert src.nodata == 255 and data[0, 0, 0] == 255 and data[0, 1, 1] == 254
        assert src.scales[0] == 1 / 254
