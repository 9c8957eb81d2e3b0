"""Registry cross-check: is each detection a registered mine (concession or ANM dam)?

Distances are measured in the UTM zone of each detection (detections are grouped by
zone), so a state-wide run spanning several zones keeps metric distances exact to the
UTM scale factor. A detection inside a concession is at distance 0.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from minegeo.datasets.registries import BadRow, read_anm_dams, read_concessions
from minegeo.errors import MinegeoInputError
from minegeo.geo import utm_epsg_codes

#: Columns the cross-check adds to the detections: ``nearest_registry_id`` and
#: ``registry_kind`` describe the nearest registered feature, ``registry_id`` repeats its
#: id only when the detection is registered (a distant concession is not its registry entry).
REGISTRY_COLUMNS = (
    "registered",
    "registry_distance_m",
    "registry_id",
    "nearest_registry_id",
    "registry_kind",
)


def registry_features(
    concessions: gpd.GeoDataFrame | None = None, dams: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Concession polygons and dam points as one EPSG:4326 frame.

    Args:
        concessions: SIGMINE-style polygons with a ``process`` column (process number).
        dams: ANM dam points with a ``dam_id`` column.

    Returns:
        columns ``registry_id`` (str), ``registry_kind`` ("concession" or "dam"), geometry.
    """
    parts = []
    for frame, id_column, kind in ((concessions, "process", "concession"), (dams, "dam_id", "dam")):
        if frame is None or frame.empty:
            continue
        ids = frame[id_column].astype(str) if id_column in frame.columns else frame.index.astype(str)
        part = gpd.GeoDataFrame(
            {"registry_id": list(ids), "registry_kind": kind}, geometry=list(frame.geometry), crs=frame.crs
        )
        parts.append(part.to_crs("EPSG:4326"))
    if not parts:
        return gpd.GeoDataFrame({"registry_id": [], "registry_kind": []}, geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


def load_registries(
    concessions: str | Path | None, dams: str | Path | None
) -> tuple[gpd.GeoDataFrame | None, list[BadRow]]:
    """Read the registries a run names (either may be None).

    Args:
        concessions: a SIGMINE-style vector file, or None.
        dams: an ANM dam list (TSV), or None.

    Returns:
        the registry features (None when no registry was given) and the unreadable rows.

    Raises:
        MinegeoInputError: for a missing or unreadable file, or concessions without polygons.
    """
    if concessions is None and dams is None:
        return None, []
    bad_rows: list[BadRow] = []
    frames: dict[str, gpd.GeoDataFrame] = {}
    if concessions is not None:
        table = read_concessions(concessions)
        if table.frame.empty and table.bad_rows:
            raise MinegeoInputError(
                f"registry.concessions={concessions}: none of its {len(table.bad_rows)} features is a "
                "polygon; expected concession polygons (dam points go in registry.dams)"
            )
        _check_lonlat(table.frame, f"registry.concessions={concessions}")
        frames["concessions"], bad_rows = table.frame, bad_rows + table.bad_rows
    if dams is not None:
        table = read_anm_dams(dams)
        frames["dams"], bad_rows = table.frame, bad_rows + table.bad_rows
    return registry_features(**frames), bad_rows


def _check_lonlat(frame: gpd.GeoDataFrame, source: str) -> None:
    """Refuse geographic coordinates that cannot be degrees: a file in metres labelled lon/lat.

    A GeoJSON file is WGS84 by definition, so one written from UTM coordinates reads
    without complaint and would match nothing.
    """
    if frame.empty or frame.crs is None or not frame.crs.is_geographic:
        return
    west, south, east, north = frame.total_bounds
    if min(west, south) < -180 or east > 180 or north > 90 or south < -90:
        raise MinegeoInputError(
            f"{source}: bounds ({west:.0f}, {south:.0f}, {east:.0f}, {north:.0f}) are not "
            f"degrees, but the file's CRS is {frame.crs.to_string()}; expected the CRS they were made in"
        )


def cross_check(
    detections: gpd.GeoDataFrame, registry: gpd.GeoDataFrame | None, max_distance_m: float = 0.0
) -> gpd.GeoDataFrame:
    """Tag each detection registered or not, with the nearest registered feature.

    Args:
        detections: EPSG:4326 detections with ``lon`` and ``lat`` columns.
        registry: features from :func:`registry_features`; None when no registry was given
            (every detection is then unregistered, at unknown distance).
        max_distance_m: a detection this close to a registered feature counts as registered.

    Returns:
        the detections with ``REGISTRY_COLUMNS`` added.
    """
    checked = detections.copy()
    checked["registry_distance_m"] = np.nan
    checked["nearest_registry_id"] = pd.Series([None] * len(checked), index=checked.index, dtype=object)
    checked["registry_kind"] = pd.Series([None] * len(checked), index=checked.index, dtype=object)
    if registry is not None and not registry.empty and not checked.empty:
        zones = utm_epsg_codes(checked["lon"], checked["lat"])
        for epsg, group in checked.groupby(pd.Series(zones, index=checked.index)):
            nearest = _nearest(group, registry, int(epsg))
            checked.loc[group.index, list(nearest.columns)] = nearest
    checked["registered"] = (checked["registry_distance_m"] <= max_distance_m).to_numpy()
    checked["registry_id"] = checked["nearest_registry_id"].where(checked["registered"], None)
    return checked


def _nearest(group: gpd.GeoDataFrame, registry: gpd.GeoDataFrame, epsg: int) -> pd.DataFrame:
    """Nearest registry feature of each detection, measured in one UTM zone."""
    local = group[["geometry"]].to_crs(epsg)
    joined = gpd.sjoin_nearest(local, registry.to_crs(epsg), how="left", distance_col="registry_distance_m")
    joined = joined[~joined.index.duplicated(keep="first")]  # ties: any nearest will do
    joined = joined.rename(columns={"registry_id": "nearest_registry_id"})
    return joined[["registry_distance_m", "nearest_registry_id", "registry_kind"]]
