"""The change COG: first period detected per pixel, periods counted, grids resampled."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minegeo.change.params import ChangeParams
from minegeo.change.raster import write_change_raster
from minegeo.change.series import time_series
from tests.change.conftest import PERIODS, SITES, write_series
from tests.detection.test_detections import segmentation_probs, write_prob


def change_map(folder: Path, maps: list[tuple[str, Path, Path]], **params: bool) -> Path:
    (series,) = time_series(maps)
    return write_change_raster(series, folder / "mg.change.tif", 0.6, None, ChangeParams(**params))


def test_bands_tags_and_cog_layout(tmp_path: Path) -> None:
    target = change_map(tmp_path, write_series(tmp_path))
    with rasterio.open(target) as src:
        assert src.descriptions == ("first_period", "periods_detected") and src.dtypes == ("uint8", "uint8")
        assert src.tags()["periods"] == ",".join(PERIODS) and src.tags()["period_3"] == "2021"
        assert src.driver == "GTiff" and src.profile.get("tiled")


def test_each_site_shows_its_first_counted_period(tmp_path: Path) -> None:
    with rasterio.open(change_map(tmp_path, write_series(tmp_path))) as src:
        first, count = src.read()
    at = {name: (int(first[row, col]), int(count[row, col])) for name, (row, col, _) in SITES.items()}
    assert at == {
        "stable": (1, 4),
        "growing": (1, 4),
        "new": (3, 2),
        "gone": (1, 2),
        "false_alarm": (0, 0),
        "new_last": (4, 1),
        "shrinking": (1, 4),
    }
    assert first[0, 0] == 0 and count[0, 0] == 0


def test_without_the_rule_a_false_alarm_shows(tmp_path: Path) -> None:
    with rasterio.open(change_map(tmp_path, write_series(tmp_path), confirm=False)) as src:
        row, col, _ = SITES["false_alarm"]
        assert src.read(1)[row, col] == 2


def test_a_period_on_another_grid_is_resampled_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    maps = write_series(tmp_path)
    mine = np.zeros((100, 200), np.float32)
    mine[30:50, 30:50] = 0.9  # 20 m pixels: rows 60-100, cols 60-100 of the first grid
    write_prob(
        maps[1][1], segmentation_probs(mine), transform=from_origin(500_000.0, 8_000_000.0, 20.0, 20.0)
    )
    with caplog.at_level(logging.WARNING):
        target = change_map(tmp_path, maps, confirm=False)
    assert "grid differs" in caplog.text and "mg.2020.prob.tif" in caplog.text
    with rasterio.open(target) as src:
        assert src.read(1)[80, 80] == 2 and src.shape == (160, 400)
