"""The change stage of a predict run: after the scan and the report, in the same ``out=``.

It reads what the scan wrote (each scene's ``<place>.<period>.prob.tif`` and the run's
``detections.gpkg``), matches every place's detections across its periods, and writes
``changes.{csv,gpkg,kml}``, a ``<place>.change.tif`` per place and the change section of
``summary.json`` / ``summary.md``. Everything it writes is renamed into place when
complete and depends on its inputs only, so a run killed during the stage and rerun ends
with the files an uninterrupted run writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from minegeo.change.outputs import change_markdown, change_summary, write_change_files
from minegeo.change.params import ChangeParams
from minegeo.change.raster import write_change_raster
from minegeo.change.series import TimeSeries, time_series, wants_change
from minegeo.change.sites import match_sites
from minegeo.io import atomic_path

__all__ = ["run_change_stage"]

log = logging.getLogger(__name__)

#: Partial files a killed stage may leave (temporary names of `atomic_path` and the COG stage).
_PARTIALS = (".changes.partial-*", ".*.change.partial-*", ".*.change.tif.stage-*")


def run_change_stage(
    maps: Sequence[tuple[str, Path, Path]],
    out_dir: Path,
    mode: bool | str = "auto",
    threshold: float = 0.6,
    classes: Sequence[str] | None = None,
    params: ChangeParams | None = None,
) -> dict[str, Any] | None:
    """Run the change stage over a finished predict run.

    Args:
        maps: (scene name, probability map, scene path) of every scene mapped.
        out_dir: the run's folder (holding ``detections.gpkg`` and ``summary.json``).
        mode: ``auto``, True or False (predict's ``change``).
        threshold: the detection threshold, for the change COG.
        classes: the detection classes (None: all but background / not_mine).
        params: matching and consistency settings.

    Returns:
        the change summary (also added to summary.json and summary.md), or None when
        the stage does not run.
    """
    series = time_series(maps)
    if not wants_change(mode, series):
        return None
    params = params or ChangeParams()
    _remove_partials(out_dir)
    detections = _period_detections(out_dir / "detections.gpkg", series)
    site_frames, member_frames = [], []
    for place in series:
        own = detections[detections["place"] == place.place]
        sites, members = match_sites(own, place.labels, place.place, params)
        site_frames.append(sites)
        member_frames.append(members)
        write_change_raster(place, out_dir / f"{place.place}.change.tif", threshold, classes, params)
    periods = sorted({period for place in series for period in place.periods})
    sites, members = _concat(site_frames), _concat(member_frames)
    write_change_files(sites, members, periods, out_dir)
    change = change_summary(sites, periods, params.top_n)
    _add_to_summary(out_dir, change)
    return change


def _remove_partials(out_dir: Path) -> None:
    for pattern in _PARTIALS:
        for stale in out_dir.glob(pattern):
            stale.unlink(missing_ok=True)


def _period_detections(path: Path, series: Sequence[TimeSeries]) -> gpd.GeoDataFrame:
    """The run's detections of the time-series scenes, with their ``place`` and ``period``."""
    by_stem = {m.stem: (place.place, m.period.label) for place in series for m in place.maps}
    frame = gpd.read_file(path, engine="pyogrio") if path.is_file() else None
    if frame is None or frame.empty:
        return gpd.GeoDataFrame(
            {"scene": [], "place": [], "period": [], "area_m2": []}, geometry=[], crs=4326
        )
    frame = frame[frame["scene"].isin(list(by_stem))].copy()
    frame["place"] = frame["scene"].map(lambda stem: by_stem[stem][0])
    frame["period"] = frame["scene"].map(lambda stem: by_stem[stem][1])
    return frame


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    kept = [frame for frame in frames if not frame.empty]
    if not kept:
        return frames[0] if frames else gpd.GeoDataFrame(geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat(kept, ignore_index=True), geometry="geometry", crs="EPSG:4326")


def _add_to_summary(out_dir: Path, change: dict[str, Any]) -> None:
    """Add the change section to the report's summary.json and summary.md."""
    from minegeo.detection.report import summary_markdown

    json_path = out_dir / "summary.json"
    if not json_path.is_file():
        log.warning("%s not found; the change summary is in changes.csv only", json_path)
        return
    summary = json.loads(json_path.read_text(encoding="utf-8"))
    summary["change"] = change
    files = set(summary.get("files", []))
    files |= {"changes.csv", "changes.gpkg", "changes.kml"}
    files |= {f"{stem}.change.tif" for stem in _places(out_dir)}
    summary["files"] = sorted(files)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = summary_markdown(summary) + change_markdown(change, bool(summary.get("registry_checked")))
    with atomic_path(out_dir / "summary.md") as tmp:
        tmp.write_text(markdown, encoding="utf-8")


def _places(out_dir: Path) -> list[str]:
    return sorted(path.name.removesuffix(".change.tif") for path in out_dir.glob("*.change.tif"))
