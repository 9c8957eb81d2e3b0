"""Where on the Earth: UTM zones and metres per degree on the WGS84 ellipsoid.

Every layer that measures in metres near lon/lat points goes through these functions,
so a distance, a buffer or a pixel size means the same in training, predict, the change
stage and the reports. The module needs pyproj and numpy only (no torch), so any layer
may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from pyproj import CRS, Geod, Transformer

if TYPE_CHECKING:
    import geopandas as gpd

#: the WGS84 ellipsoid, for geodesic distances and areas
WGS84_GEOD = Geod(ellps="WGS84")
#: half the arc (degrees) over which :func:`metres_per_degree` measures; short enough that
#: a geodesic between two points of one parallel follows the parallel to well below 1e-9
_HALF_STEP_DEG = 5e-4


def utm_epsg_codes(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """EPSG codes of the WGS84 UTM zones holding points (326xx north, 327xx south).

    Zones are the regular 6° bands (no Norway or Svalbard exceptions); longitude 180
    falls in zone 60 and the equator in the northern hemisphere.

    Args:
        lon: longitudes in degrees, -180..180.
        lat: latitudes in degrees.

    Returns:
        an int64 array of EPSG codes, one per point.
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(np.int64) + 1, 1, 60)
    return np.where(lat < 0, 32700, 32600) + zone


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding one point (see :func:`utm_epsg_codes`)."""
    return int(utm_epsg_codes(lon, lat))


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS84 UTM zone CRS holding a point: metric distances near it."""
    return CRS.from_epsg(utm_epsg(lon, lat))


def centre_utm_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The UTM zone CRS of the centre of a frame's bounds, for metres across the frame.

    Args:
        frame: geometries with a CRS (any; the bounds are taken to lon/lat).

    Returns:
        the WGS84 UTM CRS holding the centre of the bounds.
    """
    west, south, east, north = frame.total_bounds
    crs = CRS.from_user_input(frame.crs)
    if crs.to_epsg() != 4326:
        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        west, south, east, north = to_lonlat.transform_bounds(west, south, east, north)
    return utm_crs((west + east) / 2, (south + north) / 2)


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Ground metres spanned by one degree of longitude and of latitude at ``lat``.

    Measured along WGS84 geodesics (pyproj), so east-west it shrinks with the cosine of
    the latitude and north-south it follows the meridian's curvature.

    Args:
        lat: latitude in degrees, -90..90.

    Returns:
        (east, north): metres per degree of longitude, metres per degree of latitude.
    """
    _, _, east = WGS84_GEOD.inv(-_HALF_STEP_DEG, lat, _HALF_STEP_DEG, lat)
    south, north = max(lat - _HALF_STEP_DEG, -90.0), min(lat + _HALF_STEP_DEG, 90.0)
    _, _, meridian = WGS84_GEOD.inv(0.0, south, 0.0, north)
    return float(east) / (2 * _HALF_STEP_DEG), float(meridian) / (north - south)
