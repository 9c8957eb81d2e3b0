"""The change stage's files: changes.csv, changes.gpkg, changes.kml, and its summary lines.

- ``changes.csv``: one row per site, ``site_id, status, first_period, last_period, lon,
  lat, registered, area_m2_<period>...``, then ``confirmed`` and ``place``. Places seen at
  different periods leave the other places' period columns empty.
- ``changes.gpkg``: layer ``sites`` (the table, each site's cumulative footprint) and one
  layer ``period_<period>`` per period (the detections counted then, with their site).
- ``changes.kml``: every counted detection as a placemark named after its site, with the
  period's ``TimeSpan``, so Google Earth's time slider plays the series (GDAL's LIBKML
  driver writes it from the ``begin`` and ``end`` fields).

Every file is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from minegeo.change.sites import STATUSES
from minegeo.io import atomic_path
from minegeo.periods import Period

__all__ = ["change_markdown", "change_summary", "write_change_files"]

#: The GeoPackage's ``last_change`` stamps: fixed, so that a rerun writes the same bytes.
GPKG_DATE = "2000-01-01T00:00:00.000Z"
#: Columns every changes.csv starts with (then ``area_m2_<period>`` per period).
SITE_COLUMNS = ("site_id", "status", "first_period", "last_period", "lon", "lat", "registered")


def write_change_files(
    sites: gpd.GeoDataFrame, members: gpd.GeoDataFrame, periods: Sequence[Period], out_dir: Path
) -> list[Path]:
    """Write changes.csv, changes.gpkg and changes.kml.

    Args:
        sites: every place's sites (``minegeo.change.sites.match_sites``), EPSG:4326.
        members: the counted detections with ``site_id`` and ``period``.
        periods: every period of the run, earliest first.
        out_dir: the run's output folder.

    Returns:
        the files written.
    """
    labels = [period.label for period in periods]
    sites = _site_table(sites, labels)
    targets = [out_dir / "changes.csv", out_dir / "changes.gpkg", out_dir / "changes.kml"]
    with atomic_path(targets[0]) as tmp:
        sites.drop(columns="geometry").to_csv(tmp, index=False, lineterminator="\n")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        with atomic_path(targets[1]) as tmp:
            sites.to_file(tmp, layer="sites", driver="GPKG", engine="pyogrio")
            for label in labels:
                layer = _member_layer(members, label)
                layer.to_file(tmp, layer=f"period_{label}", driver="GPKG", engine="pyogrio", append=True)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    with atomic_path(targets[2]) as tmp:
        _placemarks(sites, members, periods).to_file(tmp, layer="changes", driver="LIBKML", engine="pyogrio")
    return targets


def _site_table(sites: gpd.GeoDataFrame, labels: list[str]) -> gpd.GeoDataFrame:
    """Sites in file order: the contract's columns, areas per period, the rest."""
    areas = [f"area_m2_{label}" for label in labels]
    for column in areas:
        if column not in sites.columns:
            sites = sites.assign(**{column: float("nan")})
    columns = [*SITE_COLUMNS, *areas, "confirmed", "place"]
    return gpd.GeoDataFrame(sites[[*columns, "geometry"]], geometry="geometry", crs="EPSG:4326")


def _member_layer(members: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    kept = [c for c in ("site_id", "scene", "class", "area_m2", "mean_prob", "max_prob") if c in members]
    layer = members.loc[members["period"] == label, [*kept, "geometry"]]
    return gpd.GeoDataFrame(layer.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")


def _placemarks(
    sites: gpd.GeoDataFrame, members: gpd.GeoDataFrame, periods: Sequence[Period]
) -> gpd.GeoDataFrame:
    """One placemark per site and period counted, with the period's TimeSpan."""
    by_label = {period.label: period for period in periods}
    status = dict(zip(sites["site_id"], sites["status"], strict=True))
    rows = [
        {
            "name": row.site_id,
            "description": f"{status[row.site_id]}; {row.period}: {row.area_m2:.0f} m²",
            "begin": by_label[row.period].start_text,
            "end": by_label[row.period].end_text,
            "geometry": row.geometry,
        }
        for row in members.sort_values(["site_id", "period"]).itertuples()
    ]
    if not rows:
        return gpd.GeoDataFrame(
            {"name": [], "description": [], "begin": [], "end": []}, geometry=[], crs=4326
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def change_summary(sites: gpd.GeoDataFrame, periods: Sequence[Period], top_n: int) -> dict[str, Any]:
    """The change part of ``summary.json``.

    Args:
        sites: every place's sites.
        periods: every period of the run.
        top_n: fastest-growing sites listed.

    Returns:
        counts per status, the new sites (and which have no concession), the fastest-growing sites.
    """
    new = sites[sites["status"] == "new"].sort_values(["first_period", "site_id"])
    growth = _growth(sites, [period.label for period in periods])
    fastest = sites.assign(growth_m2=growth).sort_values(["growth_m2", "site_id"], ascending=[False, True])
    fastest = fastest[fastest["growth_m2"] > 0].head(top_n)
    return {
        "periods": [period.label for period in periods],
        "sites": len(sites),
        "per_status": {status: int((sites["status"] == status).sum()) for status in STATUSES},
        "new": [_brief(row) for row in new.itertuples()],
        "new_unregistered": [str(row.site_id) for row in new.itertuples() if not row.registered],
        "fastest_growing": [
            {**_brief(row), "growth_m2": round(float(row.growth_m2), 1)} for row in fastest.itertuples()
        ],
    }


def _growth(sites: gpd.GeoDataFrame, labels: list[str]) -> pd.Series:
    """Area gained from the first period a site counts in to the last (m²)."""
    areas = sites[[f"area_m2_{label}" for label in labels if f"area_m2_{label}" in sites]].fillna(0.0)
    first = areas.apply(lambda row: next((v for v in row if v > 0), 0.0), axis=1)
    last = areas.apply(lambda row: next((v for v in reversed(list(row)) if v > 0), 0.0), axis=1)
    return (last - first).astype(float) if len(sites) else pd.Series(dtype=float)


def _brief(row: Any) -> dict[str, Any]:
    return {
        "site_id": str(row.site_id),
        "first_period": str(row.first_period),
        "lon": float(row.lon),
        "lat": float(row.lat),
        "registered": bool(row.registered),
    }


def change_markdown(change: Mapping[str, Any], registry_checked: bool) -> str:
    """The change section of ``summary.md``.

    Args:
        change: from :func:`change_summary`.
        registry_checked: whether a registry was given (else "no concession" is unknown).

    Returns:
        Markdown text, starting with a blank line.
    """
    periods = change["periods"]
    counts = ", ".join(f"{status} {n}" for status, n in change["per_status"].items())
    lines = [
        "",
        f"## Change over {len(periods)} periods ({periods[0]} to {periods[-1]})",
        "",
        f"Sites: {change['sites']} ({counts}).",
        "",
        f"### New since {periods[0]}: {len(change['new'])}"
        + (f", {len(change['new_unregistered'])} without a concession" if registry_checked else ""),
        "",
        "| site | first period | lon | lat | registered |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    registered = (
        (lambda site: "yes" if site["registered"] else "no") if registry_checked else (lambda _: "unknown")
    )
    lines += [
        f"| {s['site_id']} | {s['first_period']} | {s['lon']:.5f} | {s['lat']:.5f} | {registered(s)} |"
        for s in change["new"]
    ]
    lines += [
        "",
        "### Fastest-growing sites",
        "",
        "| site | growth (m²) | lon | lat |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {s['site_id']} | {s['growth_m2']:.0f} | {s['lon']:.5f} | {s['lat']:.5f} |"
        for s in change["fastest_growing"]
    ]
    return "\n".join(lines) + "\n"
