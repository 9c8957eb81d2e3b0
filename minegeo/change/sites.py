"""Sites matched across periods, the temporal consistency rule, and each site's status.

Detections of one place in any of its periods are joined into one site when they overlap
or lie within ``match_distance_m`` of each other (edge to edge, measured in the place's
UTM zone); a site is the union-find component of those links. A site *counts* in a period
only if it is seen there and in an adjacent period (Sepin, Vashold & Kuschnig 2025 keep a
mine polygon only when the year before or after confirms it), which removes one-period
false alarms; the last period has no later one to confirm it, so a site first seen there
is kept as unconfirmed (``keep_last``). Statuses compare the periods it counts in:

- ``new``: first counted after the first period (and counted in the last one);
- ``gone``: not counted in the last period;
- ``growing`` / ``shrinking``: counted from the first to the last period with an area
  ratio (last / first) above ``1 + growth`` / below ``1 / (1 + growth)``;
- ``stable``: the rest.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from minegeo.change.params import ChangeParams
from minegeo.geo import centre_utm_crs

__all__ = ["STATUSES", "counted_periods", "match_sites", "site_status"]

#: Every status a site may have.
STATUSES = ("new", "growing", "stable", "shrinking", "gone")


def counted_periods(seen: np.ndarray, params: ChangeParams) -> np.ndarray:
    """Where a site (or a pixel) counts after the temporal consistency rule.

    Args:
        seen: (..., P) bool, detected in each of P periods (last axis).
        params: the rule's settings.

    Returns:
        (..., P) bool: seen, and seen in an adjacent period too (or in the last period,
        with ``keep_last``); ``seen`` itself when the rule is off.
    """
    if not params.confirm:
        return seen
    before = np.zeros_like(seen)
    after = np.zeros_like(seen)
    before[..., 1:] = seen[..., :-1]
    after[..., :-1] = seen[..., 1:]
    counted = seen & (before | after)
    if params.keep_last:
        counted[..., -1] |= seen[..., -1]
    return counted


def site_status(counted: np.ndarray, areas: np.ndarray, params: ChangeParams) -> str:
    """The status of one site from the periods it counts in and its area in each.

    Args:
        counted: (P,) bool, whether the site counts in each period (at least one).
        areas: (P,) m² per period.
        params: the growth threshold.

    Returns:
        one of `STATUSES`.
    """
    present = np.flatnonzero(counted)
    first, last = int(present[0]), int(present[-1])
    if last < len(areas) - 1:
        return "gone"
    if first > 0:
        return "new"
    ratio = areas[last] / max(float(areas[first]), 1e-9)
    if ratio > 1 + params.growth:
        return "growing"
    if ratio < 1 / (1 + params.growth):
        return "shrinking"
    return "stable"


def match_sites(
    detections: gpd.GeoDataFrame, labels: list[str], place: str, params: ChangeParams
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Match one place's detections across its periods into sites.

    Args:
        detections: EPSG:4326 detections of the place, with ``period`` (a label of
            ``labels``), ``area_m2`` and optionally ``registered``.
        labels: the place's period labels, earliest first.
        place: the place's name (site ids are ``<place>-<n>``).
        params: matching and consistency settings.

    Returns:
        (sites, members): one row per site that counts in some period (``site_id``,
        ``status``, ``first_period``, ``last_period``, ``lon``, ``lat``, ``registered``,
        ``area_m2_<period>``..., ``confirmed``, ``place``; geometry: the union of its
        counted detections), and the counted detections with their ``site_id``.
    """
    if detections.empty:
        return _empty_sites(labels), detections.assign(site_id=pd.Series(dtype=object))
    local = detections.to_crs(centre_utm_crs(detections)).reset_index(drop=True)
    component = _components(local.geometry.to_numpy(), params.match_distance_m)
    period_index = local["period"].map({label: i for i, label in enumerate(labels)}).to_numpy()
    seen = np.zeros((component.max() + 1, len(labels)), bool)
    seen[component, period_index] = True
    counted = counted_periods(seen, params)
    keep = counted[component, period_index]
    members = local[keep].assign(component=component[keep])
    if members.empty:
        return _empty_sites(labels), detections.iloc[:0].assign(site_id=pd.Series(dtype=object))
    sites, ids = _site_rows(members, counted, seen, labels, place, params)
    members = members.assign(site_id=members["component"].map(ids)).drop(columns="component")
    return sites.to_crs("EPSG:4326"), members.to_crs("EPSG:4326")


def _components(geometries: np.ndarray, distance_m: float) -> np.ndarray:
    """Component label of each geometry: linked when within ``distance_m`` of another."""
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="dwithin", distance=distance_m)
    links = coo_array((np.ones(len(left), bool), (left, right)), shape=(len(geometries),) * 2)
    _, labels = connected_components(links, directed=False)
    return np.asarray(labels)


def _site_rows(
    members: gpd.GeoDataFrame,
    counted: np.ndarray,
    seen: np.ndarray,
    labels: list[str],
    place: str,
    params: ChangeParams,
) -> tuple[gpd.GeoDataFrame, dict[int, str]]:
    """The site table, numbered by first counted period then north to south, west to east."""
    rows = []
    for component, group in members.groupby("component", sort=False):
        areas = np.array([group.loc[group["period"] == label, "area_m2"].sum() for label in labels])
        footprint = shapely.union_all(group.geometry.to_numpy())
        centre = footprint.centroid
        present = np.flatnonzero(counted[component])
        rows.append(
            {
                "component": component,
                "status": site_status(counted[component], areas, params),
                "first_period": labels[present[0]],
                "last_period": labels[present[-1]],
                "registered": bool(group["registered"].any()) if "registered" in group else False,
                **{
                    f"area_m2_{label}": round(float(area), 1)
                    for label, area in zip(labels, areas, strict=True)
                },
                "confirmed": bool((counted[component] & _has_neighbour(seen[component])).any()),
                "place": place,
                "_order": (int(present[0]), -round(centre.y, 1), round(centre.x, 1)),
                "geometry": footprint,
            }
        )
    rows.sort(key=lambda row: row.pop("_order"))
    ids = {row["component"]: f"{place}-{number:04d}" for number, row in enumerate(rows, start=1)}
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=members.crs)
    frame.insert(0, "site_id", [ids[c] for c in frame.pop("component")])
    centres = frame.geometry.centroid.to_crs("EPSG:4326")
    frame.insert(4, "lon", centres.x.round(6))
    frame.insert(5, "lat", centres.y.round(6))
    return frame, ids


def _has_neighbour(seen: np.ndarray) -> np.ndarray:
    before = np.r_[False, seen[:-1]]
    after = np.r_[seen[1:], False]
    return seen & (before | after)


def _empty_sites(labels: list[str]) -> gpd.GeoDataFrame:
    columns = ["site_id", "status", "first_period", "last_period", "lon", "lat", "registered"]
    columns += [f"area_m2_{label}" for label in labels] + ["confirmed", "place"]
    return gpd.GeoDataFrame({column: [] for column in columns}, geometry=[], crs="EPSG:4326")
