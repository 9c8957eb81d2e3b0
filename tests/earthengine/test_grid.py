"""Scan grids cover the AOI with tiles of at most 92 km overlapping by at least the receptive field."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from minegeo.earthengine.geodesy import square_bounds
from minegeo.earthengine.grid import TILE_NAME, read_aoi, scan_grid
from minegeo.errors import MinegeoInputError

GEOD = Geod(ellps="WGS84")
TILE_M = 92_000.0
OVERLAP_M = 2110.0  # 201 px x 10 m + 100 m
#: A square of Minas Gerais's scanned area in the paper (67,110 km²).
AOI = shapely.box(*square_bounds(-19.9, -44.0, math.sqrt(67_110e6)))
#: A concave AOI (an L) far from the equator, where degrees shrink fastest.
L_SHAPE = shapely.Polygon([(-54, -33), (-51, -33), (-51, -32), (-53, -32), (-53, -30), (-54, -30)])


def test_aoi_square_has_the_paper_area() -> None:
    assert abs(GEOD.geometry_area_perimeter(AOI)[0]) / 1e6 == pytest.approx(67_110, rel=1e-3)


@pytest.mark.parametrize("aoi", [AOI, L_SHAPE])
def test_tiles_cover_the_aoi(aoi: shapely.Geometry) -> None:
    tiles = scan_grid(aoi, TILE_M, OVERLAP_M, "t")
    assert shapely.union_all([shapely.box(*t.bounds) for t in tiles]).contains(aoi)


@pytest.mark.parametrize("aoi", [AOI, L_SHAPE])
def test_tiles_are_at_most_92_km_on_every_side(aoi: shapely.Geometry) -> None:
    for tile in scan_grid(aoi, TILE_M, OVERLAP_M, "t"):
        west, south, east, north = tile.bounds
        for lat in (south, north):
            assert GEOD.inv(west, lat, east, lat)[2] <= TILE_M * 1.0001
        assert GEOD.inv(west, south, west, north)[2] <= TILE_M


@pytest.mark.parametrize("aoi", [AOI, L_SHAPE])
def test_every_point_is_half_an_overlap_inside_some_tile(aoi: shapely.Geometry) -> None:
    """What gap-free sliding predictions need: a receptive field's half-width of context."""
    tiles = scan_grid(aoi, TILE_M, OVERLAP_M, "t")
    west, south, east, north = aoi.bounds
    rng = np.random.default_rng(0)
    points = [
        shapely.Point(x, y)
        for x, y in zip(rng.uniform(west, east, 300), rng.uniform(south, north, 300), strict=True)
    ]
    inner = aoi.buffer(-0.02)  # ~2 km: points near the AOI's own edge have no neighbour to lean on
    for point in (p for p in points if inner.contains(p)):
        assert max(_margin_m(point, t.bounds) for t in tiles) >= OVERLAP_M / 2 - 1.0


def _margin_m(point: shapely.Point, bounds: tuple[float, float, float, float]) -> float:
    west, south, east, north = bounds
    if not (west <= point.x <= east and south <= point.y <= north):
        return -1.0
    return min(
        GEOD.inv(west, point.y, point.x, point.y)[2],
        GEOD.inv(point.x, point.y, east, point.y)[2],
        GEOD.inv(point.x, south, point.x, point.y)[2],
        GEOD.inv(point.x, point.y, point.x, north)[2],
    )


def test_neighbours_overlap_by_at_least_the_receptive_field() -> None:
    tiles = {(t.row, t.col): t.bounds for t in scan_grid(AOI, TILE_M, OVERLAP_M, "t")}
    (_, south, right, _), (left, *_) = tiles[0, 0], tiles[0, 1]
    assert GEOD.inv(left, south, right, south)[2] >= OVERLAP_M - 0.01  # farther from the equator
    assert GEOD.inv(-44, tiles[1, 0][3], -44, south)[2] >= OVERLAP_M


def test_paper_area_needs_nine_tiles() -> None:
    tiles = scan_grid(AOI, TILE_M, OVERLAP_M, "mg")
    assert len(tiles) == 9 and {(t.row, t.col) for t in tiles} == {(r, c) for r in range(3) for c in range(3)}


def test_tiles_missing_a_concave_aoi_are_dropped() -> None:
    tiles = scan_grid(L_SHAPE, TILE_M, OVERLAP_M, "t")
    assert all(L_SHAPE.intersects(shapely.box(*t.bounds)) for t in tiles)
    assert len(tiles) < len({t.row for t in tiles}) * max(t.col + 1 for t in tiles)


def test_tile_names_parse_with_earth_engine_split_suffix() -> None:
    (tile, *_) = scan_grid(AOI, TILE_M, OVERLAP_M, "Minas Gerais/..")
    assert tile.name == "scan_Minas_Gerais_r000_c000"
    match = TILE_NAME.match(f"{tile.name}-0000000000-0000009472.tif")
    assert match and match["aoi"] == "Minas_Gerais" and (match["row"], match["col"]) == ("000", "000")
    assert match["x_offset"] == "0000009472"


def test_overlap_must_be_below_the_tile_size() -> None:
    with pytest.raises(MinegeoInputError, match=r"overlap 92000 m must be below the tile size 92000 m"):
        scan_grid(AOI, TILE_M, TILE_M, "t")


def test_read_aoi_from_bbox() -> None:
    assert read_aoi(bbox=[-45, -21, -42, -18]).equals(shapely.box(-45, -21, -42, -18))


def test_read_aoi_refuses_an_inverted_bbox() -> None:
    with pytest.raises(MinegeoInputError, match=r"aoi.bbox \[-42, -21, -45, -18\] is not valid"):
        read_aoi(bbox=[-42, -21, -45, -18])


def test_read_aoi_needs_exactly_one_source() -> None:
    with pytest.raises(MinegeoInputError, match=r"expected exactly one of them"):
        read_aoi(bbox=[-45, -21, -42, -18], state="MG")


def test_read_aoi_names_the_file_that_is_missing_unreadable_or_without_crs(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"none\.gpkg: AOI polygon file not found"):
        read_aoi(tmp_path / "none.gpkg")
    (tmp_path / "text.geojson").write_text("not json")
    with pytest.raises(MinegeoInputError, match=r"text\.geojson: not a readable vector file"):
        read_aoi(tmp_path / "text.geojson")
    gpd.GeoDataFrame(geometry=[shapely.box(-45, -21, -42, -18)]).to_file(tmp_path / "bare.gpkg")
    with pytest.raises(MinegeoInputError, match=r"bare\.gpkg: no CRS"):
        read_aoi(tmp_path / "bare.gpkg")


def test_read_aoi_cuts_a_state_from_a_boundary_file(tmp_path: Path) -> None:
    path = tmp_path / "states.gpkg"
    shapes = [shapely.box(-51, -23, -40, -14), shapely.box(-40, -21, -39, -18)]
    gpd.GeoDataFrame({"SIGLA_UF": ["MG", "ES"]}, geometry=shapes, crs=4674).to_file(path)
    assert read_aoi(state="mg", boundary_file=path).equals_exact(shapes[0], tolerance=1e-6)


def test_read_aoi_refuses_an_unknown_state(tmp_path: Path) -> None:
    path = tmp_path / "states.gpkg"
    gpd.GeoDataFrame({"SIGLA_UF": ["MG"]}, geometry=[shapely.box(-51, -23, -40, -14)], crs=4674).to_file(path)
    with pytest.raises(MinegeoInputError, match=r"no state 'XX' in column SIGLA_UF found"):
        read_aoi(state="XX", boundary_file=path)
