"""Scan tiles: an overlapping grid over an area of interest, for whole-state prediction.

Tiles are longitude/latitude rectangles laid out row by row. Every tile is at most
``tile_m`` metres on each side and neighbours overlap by at least ``overlap_m`` metres,
measured on the WGS84 ellipsoid at the worst latitude of the row (so the guarantees hold
across a whole state, not only at its centre). With an overlap of at least the model's
receptive field, every point of the area is at least half a receptive field inside some
tile, so sliding predictions leave no gaps.

Tile names are ``scan_<aoi>_r<row>_c<col>``; Earth Engine may split one tile's export into
``<name>-RRRRRRRRRR-CCCCCCCCCC.tif`` pieces, which ``TILE_NAME`` also matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from minegeo.datasets.vector import read_vector
from minegeo.earthengine.geodesy import meridional_radius, parallel_radius
from minegeo.earthengine.names import sanitize_name
from minegeo.errors import MinegeoInputError

__all__ = ["STATE_COLUMNS", "TILE_NAME", "ScanTile", "read_aoi", "scan_grid"]

#: Matches a scan tile file name, including Earth Engine's split-file suffix.
TILE_NAME = re.compile(
    r"^scan_(?P<aoi>[A-Za-z0-9_-]+?)_r(?P<row>\d{3,})_c(?P<col>\d{3,})"
    r"(?:-(?P<y_offset>\d{10})-(?P<x_offset>\d{10}))?\.tif$"
)
#: Columns searched, in order, for a state code in a boundary file (IBGE, GADM, geobr).
STATE_COLUMNS = ("SIGLA_UF", "sigla_uf", "abbrev_state", "UF", "uf", "SIGLA", "sigla", "HASC_1")


@dataclass(frozen=True)
class ScanTile:
    """One scan tile to export."""

    #: ``scan_<aoi>_r<row>_c<col>`` (safe characters only).
    name: str
    row: int
    col: int
    #: (west, south, east, north) in EPSG:4326 degrees.
    bounds: tuple[float, float, float, float]


def read_aoi(
    path: str | Path | None = None,
    bbox: Sequence[float] | None = None,
    state: str | None = None,
    boundary_file: str | Path | None = None,
) -> shapely.Geometry:
    """Read an area of interest: a polygon file, a bbox, or a state cut from a boundary file.

    Args:
        path: a vector file whose polygons (all of them, merged) are the AOI.
        bbox: (west, south, east, north) in degrees.
        state: a state code such as ``MG``, looked up in ``boundary_file``.
        boundary_file: a vector file of states with a code column (see ``STATE_COLUMNS``).

    Returns:
        the AOI as a shapely geometry in EPSG:4326.

    Raises:
        MinegeoInputError: if not exactly one of path, bbox and state is given, or it is invalid.
    """
    if sum(x is not None for x in (path, bbox, state)) != 1:
        raise MinegeoInputError(
            f"aoi: got path={path!r}, bbox={bbox!r}, state={state!r}; expected exactly one of them"
        )
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise MinegeoInputError(
                f"aoi.bbox {list(bbox)} is not valid; expected [west, south, east, north]"
            )
        return shapely.box(west, south, east, north)
    if state is not None:
        if boundary_file is None:
            raise MinegeoInputError(f"aoi.state={state!r} needs aoi.boundary_file, a vector file of states")
        return _state_polygon(Path(boundary_file), state)
    return _union(_read_polygons(Path(str(path))), Path(str(path)))


def _read_polygons(path: Path) -> gpd.GeoDataFrame:
    return read_vector(path, kind="AOI polygon file").to_crs(4326)


def _state_polygon(path: Path, state: str) -> shapely.Geometry:
    frame = _read_polygons(path)
    column = next((c for c in STATE_COLUMNS if c in frame.columns), None)
    if column is None:
        raise MinegeoInputError(f"{path}: no state-code column; expected one of {list(STATE_COLUMNS)}")
    codes = frame[column].astype(str).str.upper().str.split(".").str[-1]
    return _union(frame[codes == state.upper()], path, f"state {state!r} in column {column}")


def _union(frame: gpd.GeoDataFrame, path: Path, what: str = "polygons") -> shapely.Geometry:
    polygons = frame.geometry[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise MinegeoInputError(f"{path}: no {what} found; expected at least one polygon")
    return shapely.make_valid(shapely.union_all(polygons.to_numpy()))


def scan_grid(aoi: shapely.Geometry, tile_m: float, overlap_m: float, aoi_name: str) -> list[ScanTile]:
    """Cover an AOI with tiles of at most ``tile_m`` metres overlapping by at least ``overlap_m``.

    Rows split the AOI's latitude span evenly; each row splits its own longitude span
    evenly, so tiles are as large as allowed and none sticks out past the AOI's bounds.
    Tiles that miss the AOI (concave outlines) are dropped.

    Args:
        aoi: the area in EPSG:4326.
        tile_m: the largest tile side (m); the paper used 92 km.
        overlap_m: the least overlap between neighbouring tiles (m).
        aoi_name: name put in tile names (sanitized).

    Returns:
        the tiles, row by row from the north, west to east.

    Raises:
        MinegeoInputError: if the overlap is not smaller than the tile.
    """
    if not 0 <= overlap_m < tile_m:
        raise MinegeoInputError(f"scan: overlap {overlap_m:g} m must be below the tile size {tile_m:g} m")
    stem = f"scan_{sanitize_name(aoi_name)}"
    west, south, east, north = aoi.bounds
    # The meridional radius grows away from the equator: the largest radius bounds tile
    # heights, the smallest bounds overlaps.
    radii = [meridional_radius(lat) for lat in (south, north, min(max(0.0, south), north))]
    rows = _split(south, north, tile_m / max(radii), overlap_m / min(radii))[::-1]
    shapely.prepare(aoi)
    tiles = []
    for row, (bottom, top) in enumerate(rows):
        strip = aoi.intersection(shapely.box(west, bottom, east, top))
        if strip.is_empty:
            continue
        row_west, _, row_east, _ = strip.bounds
        # Parallels are longest nearest the equator (bounds widths) and shortest farthest
        # from it (bounds overlaps).
        longest = parallel_radius(min(max(0.0, bottom), top))
        shortest = min(parallel_radius(bottom), parallel_radius(top))
        for col, (left, right) in enumerate(
            _split(row_west, row_east, tile_m / longest, overlap_m / shortest)
        ):
            if aoi.intersects(shapely.box(left, bottom, right, top)):
                tiles.append(ScanTile(f"{stem}_r{row:03d}_c{col:03d}", row, col, (left, bottom, right, top)))
    return tiles


def _split(low: float, high: float, max_tile_rad: float, min_overlap_rad: float) -> list[tuple[float, float]]:
    """Split [low, high] (degrees) into the fewest equal spans of at most ``max_tile_rad``
    radians that overlap by exactly ``min_overlap_rad`` radians, in ascending order."""
    tile, overlap = math.degrees(max_tile_rad), math.degrees(min_overlap_rad)
    count = max(1, math.ceil((high - low - overlap) / (tile - overlap) - 1e-9))
    size = (high - low + (count - 1) * overlap) / count
    return [(low + i * (size - overlap), low + i * (size - overlap) + size) for i in range(count)]
