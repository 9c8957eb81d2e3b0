"""Patch squares around training sites, and negative sites sampled away from them.

A patch is a square of a fixed side in metres (the model's input, 201 px x 10 m by
default) centred on a site; corner-scheme sites keep their own box. Negatives are
``not_mine`` sites drawn at random (seeded) at least a minimum distance from every
positive, plus the "hard" look-alikes (lakes, irrigation dams, cities...) that pass the
same distance test.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from minegeo.earthengine.geodesy import WGS84_A, square_bounds
from minegeo.earthengine.names import sanitize_name, unique_names
from minegeo.errors import MinegeoInputError

__all__ = ["PatchRegion", "hard_negatives", "patch_regions", "sample_negatives"]

log = logging.getLogger(__name__)

#: Candidates drawn per requested negative before giving up (dense positives, small AOI).
_MAX_DRAWS_PER_NEGATIVE = 200


@dataclass(frozen=True)
class PatchRegion:
    """One training patch to export."""

    #: Safe, unique file stem: ``<label>_<id>``.
    name: str
    #: Class folder the file lands in.
    label: str
    #: (west, south, east, north) in EPSG:4326 degrees.
    bounds: tuple[float, float, float, float]


def patch_regions(sites: gpd.GeoDataFrame, side_m: float) -> list[PatchRegion]:
    """Turn sites into patch squares named ``<label>_<id>`` (sanitized, unique).

    Points and polygons get a square of ``side_m`` (or the row's own ``side_m``) centred on
    the point or on a point inside the polygon; corner-scheme boxes keep their bounds.

    Args:
        sites: a site table (see ``minegeo.earthengine.sources``).
        side_m: the default side of the square (m).

    Returns:
        one region per site, in input order.
    """
    labels = [sanitize_name(label) for label in sites["label"]]
    names = unique_names(
        f"{label}_{sanitize_name(i)}" for label, i in zip(labels, sites["site_id"], strict=True)
    )
    regions = []
    for name, label, side, geometry in zip(names, labels, sites["side_m"], sites.geometry, strict=True):
        if _is_box(geometry):
            west, south, east, north = geometry.bounds
            bounds = (west, south, east, north)
        else:
            centre = geometry if geometry.geom_type == "Point" else geometry.representative_point()
            bounds = square_bounds(centre.y, centre.x, side_m if math.isnan(side) else side)
        regions.append(PatchRegion(name, label, bounds))
    return regions


def _is_box(geometry: shapely.Geometry) -> bool:
    return geometry.geom_type == "Polygon" and geometry.equals(shapely.box(*geometry.bounds))


def sample_negatives(
    positives: gpd.GeoDataFrame,
    domain: shapely.Geometry,
    count: int,
    min_distance_m: float,
    seed: int,
    label: str = "not_mine",
) -> gpd.GeoDataFrame:
    """Draw ``count`` random sites in ``domain`` at least ``min_distance_m`` from every positive.

    Points are uniform over the sphere's area (latitude drawn through its sine), and the
    distance is measured to the positive's centre plus its own radius, so a large
    concession polygon keeps negatives off all of it.

    Args:
        positives: the positive sites (EPSG:4326).
        domain: where negatives may fall (EPSG:4326 polygon).
        count: how many negatives.
        min_distance_m: the least distance from any positive (m).
        seed: the random seed (same seed, same sites).
        label: the negatives' class.

    Returns:
        a site table of ``count`` negatives with ids ``00001``, ``00002``...

    Raises:
        MinegeoInputError: if ``count`` sites cannot be placed (domain too small or crowded).
    """
    rng = np.random.default_rng(seed)
    far = _FarFrom(positives, min_distance_m)
    west, south, east, north = domain.bounds
    sin_south, sin_north = math.sin(math.radians(south)), math.sin(math.radians(north))
    chosen: list[np.ndarray] = []
    found = 0
    for _ in range(max(1, _MAX_DRAWS_PER_NEGATIVE * count // 1000)):
        lon = rng.uniform(west, east, 1000)
        lat = np.degrees(np.arcsin(rng.uniform(sin_south, sin_north, 1000)))
        keep = shapely.contains_xy(domain, lon, lat) & far.mask(lon, lat)
        chosen.append(np.column_stack([lon[keep], lat[keep]]))
        found += int(keep.sum())
        if found >= count:
            break
    points = np.concatenate(chosen)[:count]
    if len(points) < count:
        raise MinegeoInputError(
            f"negatives: only {len(points)} of {count} sites fit at least {min_distance_m:g} m from every "
            "positive inside the sampling area; expected a lower negatives.count or negatives.min_distance_m"
        )
    ids = [f"{i + 1:05d}" for i in range(count)]
    geometry = shapely.points(points) if count else []
    return gpd.GeoDataFrame(
        {"site_id": ids, "label": [label] * count, "side_m": [math.nan] * count}, geometry=geometry, crs=4326
    )


def hard_negatives(
    lookalikes: gpd.GeoDataFrame, positives: gpd.GeoDataFrame, min_distance_m: float, label: str = "not_mine"
) -> gpd.GeoDataFrame:
    """Relabel look-alike sites as negatives, dropping those too close to a positive.

    The look-alike's own class is kept in its id (``lake_12``), so file names still say
    what it is.

    Args:
        lookalikes: site table of look-alikes (their ``label`` is e.g. ``lake``).
        positives: the positive sites.
        min_distance_m: the least distance from any positive (m).
        label: the negatives' class.

    Returns:
        the kept look-alikes as a site table labelled ``label``.
    """
    centres = lookalikes.geometry.representative_point()
    keep = _FarFrom(positives, min_distance_m).mask(centres.x.to_numpy(), centres.y.to_numpy())
    if (~keep).any():
        log.warning(
            "hard negatives: dropped %d within %g m of a positive", int((~keep).sum()), min_distance_m
        )
    kept = lookalikes[keep].copy()
    kept["site_id"] = [f"{old}_{i}" for old, i in zip(kept["label"], kept["site_id"], strict=True)]
    kept["label"] = label
    return kept.reset_index(drop=True)


class _FarFrom:
    """Tests whether points are at least a distance from every site (great-circle, sphere)."""

    def __init__(self, sites: gpd.GeoDataFrame, min_distance_m: float) -> None:
        centres = sites.geometry.representative_point()
        self.xyz = _unit_vectors(centres.x.to_numpy(), centres.y.to_numpy())
        self.radius = np.array([_radius_m(g, c) for g, c in zip(sites.geometry, centres, strict=True)])
        self.min_distance_m = min_distance_m
        self.tree = cKDTree(self.xyz) if len(self.xyz) else None

    def mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """True where a point is far enough from every site."""
        keep = np.ones(len(lon), dtype=bool)
        if self.tree is None:
            return keep
        reach = (self.min_distance_m + self.radius.max()) / WGS84_A
        points = _unit_vectors(lon, lat)
        for i, neighbours in enumerate(self.tree.query_ball_point(points, 2 * math.sin(reach / 2))):
            if neighbours:
                angle = np.arccos(np.clip(self.xyz[neighbours] @ points[i], -1, 1))
                keep[i] = bool(np.all(angle * WGS84_A >= self.min_distance_m + self.radius[neighbours]))
        return keep


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _radius_m(geometry: shapely.Geometry, centre: shapely.Point) -> float:
    """Largest great-circle distance from ``centre`` to the geometry's vertices (0 for a point)."""
    coords = shapely.get_coordinates(geometry)
    centre_xyz = _unit_vectors(np.array([centre.x]), np.array([centre.y]))[0]
    angles = np.arccos(np.clip(_unit_vectors(coords[:, 0], coords[:, 1]) @ centre_xyz, -1, 1))
    return float(angles.max() * WGS84_A)
