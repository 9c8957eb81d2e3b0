"""Metres <-> degrees on the WGS84 ellipsoid, for patch squares and tile grids.

Earth Engine regions are written in longitude/latitude, but patch sides, tile sizes and
overlaps are specified in metres. The conversion uses the ellipsoid's meridional and
prime-vertical radii of curvature at the latitude concerned (not 111 km per degree, which
is off by up to 1% north-south and by cos(latitude) east-west).
"""

from __future__ import annotations

import math

#: WGS84 semi-major axis (m) and first eccentricity squared.
WGS84_A = 6_378_137.0
WGS84_E2 = 6.694_379_990_141_316e-3
#: Metres per degree Earth Engine assumes when a `scale` in metres meets a geographic CRS
#: (the equatorial circumference / 360).
EE_METRES_PER_DEGREE = 2 * math.pi * WGS84_A / 360


def meridional_radius(lat: float) -> float:
    """Radius of curvature of the meridian (m) at latitude ``lat`` (degrees)."""
    s = math.sin(math.radians(lat))
    return WGS84_A * (1 - WGS84_E2) / (1 - WGS84_E2 * s * s) ** 1.5


def parallel_radius(lat: float) -> float:
    """Radius (m) of the parallel at latitude ``lat`` (degrees): prime-vertical radius x cos."""
    phi = math.radians(lat)
    return WGS84_A * math.cos(phi) / math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)


def north_offset_degrees(lat: float, metres: float) -> float:
    """Degrees of latitude covered by going ``metres`` north (negative: south) from ``lat``.

    The meridional radius is taken at the arc's mid-latitude (two fixed-point steps), which
    keeps the error far below a millimetre for arcs of a hundred kilometres.

    Args:
        lat: starting latitude (degrees).
        metres: signed distance along the meridian.

    Returns:
        the signed latitude difference in degrees.
    """
    dlat = math.degrees(metres / meridional_radius(lat))
    for _ in range(2):
        dlat = math.degrees(metres / meridional_radius(lat + dlat / 2))
    return dlat


def east_offset_degrees(lat: float, metres: float) -> float:
    """Degrees of longitude covered by ``metres`` along the parallel at ``lat`` (signed)."""
    return math.degrees(metres / parallel_radius(lat))


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Move a point by ``east_m`` along its parallel, then ``north_m`` along the meridian.

    Args:
        lat: latitude (degrees).
        lon: longitude (degrees).
        east_m: signed eastward distance (m).
        north_m: signed northward distance (m).

    Returns:
        the new (lat, lon) in degrees.
    """
    return lat + north_offset_degrees(lat, north_m), lon + east_offset_degrees(lat, east_m)


def square_bounds(lat: float, lon: float, side_m: float) -> tuple[float, float, float, float]:
    """Bounds (west, south, east, north) of a square of ``side_m`` metres centred on a point.

    The north and south edges lie half a side along the meridian; the east and west edges
    half a side along the centre's parallel.

    Args:
        lat: centre latitude (degrees).
        lon: centre longitude (degrees).
        side_m: side of the square (m).

    Returns:
        (west, south, east, north) in degrees.
    """
    half = side_m / 2
    dlon = east_offset_degrees(lat, half)
    return (
        lon - dlon,
        lat + north_offset_degrees(lat, -half),
        lon + dlon,
        lat + north_offset_degrees(lat, half),
    )
