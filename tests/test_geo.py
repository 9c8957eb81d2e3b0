"""UTM zones (both hemispheres, zone edges) and metres per degree on the WGS84 ellipsoid."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from minegeo.geo import centre_utm_crs, metres_per_degree, utm_crs, utm_epsg, utm_epsg_codes

#: WGS84 semi-major axis (m) and first eccentricity squared, for the closed-form radii
A, E2 = 6_378_137.0, 6.694_379_990_141_316e-3


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (-43.9, -19.9, 32723),  # Iron Quadrangle, Minas Gerais
        (-61.0, -3.1, 32720),  # Manaus
        (2.3, 48.0, 32631),  # Paris
        (-0.1, 51.5, 32630),  # London, just west of zone 31
        (179.9, 0.0, 32660),  # the equator counts as north
        (0.0, -0.000001, 32731),  # just south of it
    ],
)
def test_utm_epsg_picks_zone_and_hemisphere(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg(lon, lat) == epsg


@pytest.mark.parametrize(
    ("lon", "zone"), [(-180.0, 1), (-174.0, 2), (-174.000001, 1), (-48.0, 23), (-42.0, 24), (180.0, 60)]
)
def test_a_zone_edge_belongs_to_the_zone_east_of_it_and_180_to_zone_60(lon: float, zone: int) -> None:
    assert utm_epsg(lon, -10.0) == 32700 + zone


def test_utm_epsg_codes_works_on_arrays() -> None:
    codes = utm_epsg_codes(np.array([-43.9, 2.3, -43.9]), np.array([-19.9, 48.0, 5.0]))
    assert codes.tolist() == [32723, 32631, 32623]


def test_utm_crs_is_the_zone_crs() -> None:
    assert utm_crs(-43.9, -19.9) == utm_crs(-45.0, -0.5) == "EPSG:32723"


def test_centre_utm_crs_takes_the_bounds_to_lon_lat_first() -> None:
    points = gpd.GeoSeries([Point(-44.5, -20.0), Point(-43.5, -19.0)], crs="EPSG:4326")
    assert centre_utm_crs(points) == centre_utm_crs(points.to_crs("EPSG:3857")) == "EPSG:32723"


def _closed_form(lat: float) -> tuple[float, float]:
    """Metres per degree from the radii of curvature (parallel, meridian) at ``lat``."""
    s = math.sin(math.radians(lat))
    parallel = A * math.cos(math.radians(lat)) / math.sqrt(1 - E2 * s * s)
    meridian = A * (1 - E2) / (1 - E2 * s * s) ** 1.5
    return math.radians(parallel), math.radians(meridian)


def test_metres_per_degree_at_the_equator() -> None:
    east, north = metres_per_degree(0.0)
    assert east == pytest.approx(2 * math.pi * A / 360, rel=1e-9)  # 111 319.49 m
    assert north == pytest.approx(110_574.28, abs=0.01)


def test_metres_per_degree_at_20_south() -> None:
    east, north = metres_per_degree(-20.0)
    assert (east, north) == (pytest.approx(104_647.09, abs=0.01), pytest.approx(110_704.29, abs=0.01))


@pytest.mark.parametrize("lat", [-89.0, -33.7, -5.0, 4.5, 45.0, 60.0])
def test_metres_per_degree_follows_the_ellipsoid(lat: float) -> None:
    east, north = metres_per_degree(lat)
    expected_east, expected_north = _closed_form(lat)
    assert (east, north) == (pytest.approx(expected_east, rel=1e-9), pytest.approx(expected_north, rel=1e-9))


def test_metres_per_degree_at_a_pole() -> None:
    east, north = metres_per_degree(-90.0)
    assert east == pytest.approx(0.0, abs=1e-6)
    assert north == pytest.approx(_closed_form(-90.0)[1], rel=1e-6)
