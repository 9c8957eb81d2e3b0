"""Metre <-> degree offsets agree with pyproj's WGS84 geodesics to 0.5 m."""

from __future__ import annotations

import pytest
from pyproj import Geod

from minegeo.earthengine.geodesy import offset, square_bounds

GEOD = Geod(ellps="WGS84")
LATITUDES = (-33.7, -20.0, -5.0, 0.0, 4.5, 45.0, 60.0)


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("north_m", [-100_000.0, -1005.0, 1005.0, 46_000.0, 100_000.0])
def test_north_offset_matches_geodesic(lat: float, north_m: float) -> None:
    new_lat, new_lon = offset(lat, -44.0, 0.0, north_m)
    _, _, distance = GEOD.inv(-44.0, lat, new_lon, new_lat)
    assert distance == pytest.approx(abs(north_m), abs=0.5)


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("east_m", [-10_000.0, -1005.0, 1005.0, 10_000.0])
def test_east_offset_matches_geodesic(lat: float, east_m: float) -> None:
    new_lat, new_lon = offset(lat, -44.0, east_m, 0.0)
    _, _, distance = GEOD.inv(-44.0, lat, new_lon, new_lat)
    assert distance == pytest.approx(abs(east_m), abs=0.5)


@pytest.mark.parametrize("lat", [-20.0, -5.0])
def test_east_offset_over_half_a_scan_tile_matches_geodesic_in_brazil(lat: float) -> None:
    new_lat, new_lon = offset(lat, -44.0, 46_000.0, 0.0)
    _, _, distance = GEOD.inv(-44.0, lat, new_lon, new_lat)
    assert distance == pytest.approx(46_000.0, abs=0.5)


def test_square_bounds_has_the_requested_side() -> None:
    west, south, east, north = square_bounds(-19.9, -43.9, 2010.0)
    _, _, width = GEOD.inv(west, -19.9, east, -19.9)
    _, _, height = GEOD.inv(-43.9, south, -43.9, north)
    assert (width, height) == (pytest.approx(2010.0, abs=0.5), pytest.approx(2010.0, abs=0.5))


def test_square_bounds_is_centred() -> None:
    west, south, east, north = square_bounds(-19.9, -43.9, 2010.0)
    _, _, to_south = GEOD.inv(-43.9, -19.9, -43.9, south)
    _, _, to_north = GEOD.inv(-43.9, -19.9, -43.9, north)
    assert to_south == pytest.approx(to_north, abs=0.5)
    assert (west + east) / 2 == pytest.approx(-43.9)
