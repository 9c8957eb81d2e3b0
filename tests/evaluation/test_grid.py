"""Tests for grids and the window of one raster that covers another."""

from __future__ import annotations

from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from minegeo.evaluation.grid import Grid, covering_window, window_grid

UTM = CRS.from_epsg(32722)


def test_window_covers_the_target_with_a_margin() -> None:
    source = Grid(UTM, from_origin(0, 1000, 10, 10), 100, 100)
    target = Grid(UTM, from_origin(200, 800, 10, 10), 10, 10)
    window = covering_window(source, target)
    assert window is not None
    assert window.col_off < 20 and window.row_off < 20
    assert window.col_off + window.width > 30 and window.row_off + window.height > 30
    left, bottom, right, top = window_grid(source, window).bounds
    assert left <= 200 and right >= 300 and bottom <= 700 and top >= 800


def test_disjoint_grids_have_no_window() -> None:
    source = Grid(UTM, from_origin(0, 1000, 10, 10), 10, 10)
    target = Grid(UTM, from_origin(5000, 1000, 10, 10), 10, 10)
    assert covering_window(source, target) is None


def test_window_across_crs() -> None:
    source = Grid(UTM, from_origin(500_000, 8_000_000, 10, 10), 100, 100)
    wgs84 = CRS.from_epsg(4326)
    # a 10 x 10 lon/lat grid about 200 m inside the UTM grid's north-west corner
    left, _, _, top = transform_bounds(UTM, wgs84, *source.bounds)
    target = Grid(wgs84, from_origin(left + 0.002, top - 0.002, 0.0001, 0.0001), 10, 10)
    assert covering_window(source, target) is not None
