"""The end of a predict run: ore types, registry cross-check, detection files, summary.

:func:`finish_run` takes the detections of every scene and writes, each atomically,
``detections.{geojson,gpkg,kml,csv}``, ``summary.json``, ``summary.md`` and a quick-look
PNG per scene. :func:`evaluate_against_truth` scores detections against a synthetic
world's labels.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio

from minegeo.datasets.registries import BadRow
from minegeo.detection.detections import DETECTION_COLUMNS, empty_detections, scene_name
from minegeo.detection.oretype import OreTypeModel, load_ore_type_model, run_ore_type_stage
from minegeo.detection.quicklook import write_quicklook
from minegeo.detection.registry_check import REGISTRY_COLUMNS, cross_check, load_registries
from minegeo.geo import centre_utm_crs
from minegeo.inference.settings import PredictSettings, load_settings
from minegeo.io import atomic_path

#: Detection files of a run: suffix -> GDAL driver.
VECTOR_DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "kml": "KML", "csv": "CSV"}
#: Driver options: KML placemarks are named by detection id; CSV carries WKT geometry.
_DRIVER_OPTIONS: dict[str, dict[str, dict[str, str]]] = {
    "KML": {"dataset_options": {"NameField": "id"}},
    "CSV": {"layer_options": {"GEOMETRY": "AS_WKT"}},
}
ORE_COLUMNS = ("ore_type", "ore_type_prob")
#: the GeoPackage's ``last_change`` stamps: fixed, so that the same run writes the same bytes
GPKG_DATE = "2000-01-01T00:00:00.000Z"


@dataclass
class Stages:
    """What the post-processing stages need, loaded and checked before the scan."""

    #: the ore-type model; None when the stage is off
    ore_type: OreTypeModel | None = None
    #: registry features; None when no registry was given
    registry: gpd.GeoDataFrame | None = None
    registry_bad_rows: list[BadRow] = field(default_factory=list)


def prepare_stages(settings: PredictSettings) -> Stages:
    """Load the ore-type checkpoint and the registries, so that a bad one stops the run before the scan.

    Raises:
        MinegeoInputError: for an unreadable or unsuitable ore-type checkpoint or registry file.
    """
    ore = settings.oretype
    ore_type = None if ore.ckpt is None else load_ore_type_model(ore.ckpt, ore.drop_classes)
    registry, bad_rows = load_registries(settings.registry.concessions, settings.registry.dams)
    return Stages(ore_type, registry, bad_rows)


def write_detections(detections: gpd.GeoDataFrame, out_dir: Path) -> list[Path]:
    """Write ``detections.{geojson,gpkg,kml,csv}`` (EPSG:4326), each atomically.

    Args:
        detections: the run's detections (an empty frame gives valid, empty files).
        out_dir: the run's output folder.

    Returns:
        the files written.
    """
    frame = detections.to_crs("EPSG:4326")
    written = []
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        for suffix, driver in VECTOR_DRIVERS.items():
            target = Path(out_dir) / f"detections.{suffix}"
            with atomic_path(target) as tmp:
                options = _DRIVER_OPTIONS.get(driver, {})
                frame.to_file(tmp, driver=driver, layer="detections", engine="pyogrio", **options)
            written.append(target)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    return written


def _number(value: Any) -> Any:
    """A JSON-safe scalar: numpy types unwrapped, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _top_unregistered(detections: gpd.GeoDataFrame, top_n: int) -> list[dict[str, Any]]:
    columns = [
        "id",
        "scene",
        "class",
        "lon",
        "lat",
        "area_m2",
        "max_prob",
        "registry_distance_m",
        "nearest_registry_id",
    ]
    columns += [column for column in ORE_COLUMNS if column in detections.columns]
    unregistered = detections[~detections["registered"].astype(bool)]
    top = unregistered.sort_values(["max_prob", "id"], ascending=[False, True]).head(top_n)
    return [{column: _number(row[column]) for column in columns} for _, row in top.iterrows()]


def build_summary(
    detections: gpd.GeoDataFrame,
    dropped: gpd.GeoDataFrame,
    scene_names: Sequence[str],
    registry_checked: bool,
    bad_registry_rows: int = 0,
    top_n: int = 20,
    failed: Mapping[str, str] | None = None,
    warnings: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Counts, areas, the top unregistered sites, and the scenes that failed or were empty.

    Args:
        detections: the kept detections, cross-checked (``REGISTRY_COLUMNS`` present).
        dropped: detections the ore-type stage dropped.
        scene_names: every scene of the run (scenes without detections count too).
        registry_checked: whether any registry was given.
        bad_registry_rows: registry rows that could not be read.
        top_n: how many unregistered sites to list.
        failed: scenes that have no map (name -> why); they count in ``scenes``.
        warnings: scenes mapped but worth a look, such as all nodata (name -> why).

    Returns:
        the summary, JSON-ready.
    """
    registered = detections["registered"].astype(bool)
    area_km2 = detections["area_m2"] / 1e6
    failed, warnings = dict(failed or {}), dict(warnings or {})
    summary: dict[str, Any] = {
        "scenes": len(scene_names) + len(failed),
        "scenes_failed": len(failed),
        "detections": len(detections),
        "registered": int(registered.sum()),
        "unregistered": int((~registered).sum()),
        "dropped_by_ore_type": len(dropped),
        "registry_checked": registry_checked,
        "registry_bad_rows": bad_registry_rows,
        "area_km2": {
            "total": float(area_km2.sum()),
            "registered": float(area_km2[registered].sum()),
            "unregistered": float(area_km2[~registered].sum()),
        },
        "per_class": {str(k): int(v) for k, v in detections["class"].value_counts().sort_index().items()},
        "per_scene": {name: int((detections["scene"] == name).sum()) for name in scene_names},
    }
    if "ore_type" in detections.columns:
        counts = pd.concat([detections["ore_type"], dropped["ore_type"]]).value_counts().sort_index()
        summary["per_ore_type"] = {str(k): int(v) for k, v in counts.items()}
    summary["top_unregistered"] = _top_unregistered(detections, top_n)
    summary["failed"] = [{"scene": name, "error": why} for name, why in sorted(failed.items())]
    summary["warnings"] = [{"scene": name, "warning": why} for name, why in sorted(warnings.items())]
    return summary


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a short Markdown report.

    Args:
        summary: from :func:`build_summary`.

    Returns:
        the Markdown text.
    """
    area = summary["area_km2"]
    lines = [
        "# Detections summary",
        "",
        "| | count | area (km²) |",
        "| --- | ---: | ---: |",
        f"| detections | {summary['detections']} | {area['total']:.4f} |",
        f"| registered | {summary['registered']} | {area['registered']:.4f} |",
        f"| unregistered | {summary['unregistered']} | {area['unregistered']:.4f} |",
        f"| dropped by ore type | {summary['dropped_by_ore_type']} | |",
        "",
        f"Scenes: {summary['scenes']} ({summary['scenes_failed']} failed). "
        f"Registry checked: {'yes' if summary['registry_checked'] else 'no'}"
        f" ({summary['registry_bad_rows']} unreadable registry rows).",
        "",
        "Per class: " + (", ".join(f"{k} {v}" for k, v in summary["per_class"].items()) or "none") + ".",
        "",
        f"## Top {len(summary['top_unregistered'])} unregistered sites (by max probability)",
        "",
        "| id | lon | lat | area (m²) | max prob | nearest registered (m) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for site in summary["top_unregistered"]:
        distance = "-" if site["registry_distance_m"] is None else f"{site['registry_distance_m']:.0f}"
        lines.append(
            f"| {site['id']} | {site['lon']:.5f} | {site['lat']:.5f} | {site['area_m2']:.0f} "
            f"| {site['max_prob']:.3f} | {distance} |"
        )
    lines += _scene_rows("Failed scenes (no map)", "error", summary.get("failed", []))
    lines += _scene_rows("Warnings", "warning", summary.get("warnings", []))
    return "\n".join(lines) + "\n"


def _scene_rows(title: str, key: str, rows: Sequence[Mapping[str, str]]) -> list[str]:
    """A Markdown section listing scenes and why (none when ``rows`` is empty)."""
    if not rows:
        return []
    cells = [f"| {row['scene']} | {row[key].replace('|', '/')} |" for row in rows]
    return ["", f"## {title}: {len(rows)}", "", f"| scene | {key} |", "| --- | --- |", *cells]


def write_summary(summary: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Write ``summary.json`` and ``summary.md``, each atomically.

    Args:
        summary: from :func:`build_summary`.
        out_dir: the run's output folder.

    Returns:
        the files written.
    """
    json_path, md_path = Path(out_dir) / "summary.json", Path(out_dir) / "summary.md"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with atomic_path(md_path) as tmp:
        tmp.write_text(summary_markdown(summary), encoding="utf-8")
    return [json_path, md_path]


def _ordered(detections: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Output columns in a fixed order (ore columns only when the stage ran)."""
    columns = [*DETECTION_COLUMNS, *(c for c in ORE_COLUMNS if c in detections.columns), *REGISTRY_COLUMNS]
    return detections[[*columns, detections.geometry.name]]


def _concat(frames: Sequence[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [frame.to_crs("EPSG:4326") for frame in frames if not frame.empty]
    if not frames:
        return empty_detections()
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def finish_run(
    detections: list[gpd.GeoDataFrame],
    scenes: list[tuple[Path, Path]],
    out_dir: Path,
    cfg: PredictSettings | Mapping[str, Any],
    *,
    stages: Stages | None = None,
    failed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Ore types, registry cross-check and every run-level output of predict.

    Args:
        detections: each scene's frame from :func:`~minegeo.detection.detections.detect_scene`.
        scenes: (scene path, probability raster path) of every scene mapped.
        out_dir: the run's output folder.
        cfg: the predict settings (or the config they load from).
        stages: the ore-type model and registries from :func:`prepare_stages`; None to
            load them here.
        failed: scenes without a map (name -> why), listed in the summary.

    Returns:
        the summary (also written to ``summary.json``).

    Raises:
        MinegeoInputError: for an unreadable ore-type checkpoint or registry file.
    """
    settings = load_settings(cfg)
    stages = prepare_stages(settings) if stages is None else stages
    out_dir = Path(out_dir)
    remove_partial_files(out_dir)
    names = [scene_name(Path(prob), Path(scene)) for scene, prob in scenes]
    scene_paths = {name: Path(scene) for name, (scene, _) in zip(names, scenes, strict=True)}
    frame, dropped = _concat(detections), _concat([])
    if stages.ore_type is not None:
        frame, dropped = run_ore_type_stage(
            frame, scene_paths, stages.ore_type, batch_size=settings.oretype.batch_size
        )
    registry = settings.registry
    frame = _ordered(cross_check(frame, stages.registry, registry.max_distance_m))
    files = write_detections(frame, out_dir)
    if settings.report.quicklook:
        for name, (scene, prob) in zip(names, scenes, strict=True):
            own = frame[frame["scene"] == name]
            target = out_dir / f"{name}.quicklook.png"
            files.append(
                write_quicklook(Path(scene), Path(prob), own, target, classes=settings.detect.classes)
            )
    warnings = empty_map_warnings(dict(zip(names, (Path(prob) for _, prob in scenes), strict=True)))
    summary = build_summary(
        frame,
        dropped,
        names,
        stages.registry is not None,
        len(stages.registry_bad_rows),
        settings.report.top_n,
        failed,
        warnings,
    )
    summary["settings"] = {
        key: _plain(getattr(settings, key)) for key in ("ckpt", "detect", "oretype", "registry")
    }
    summary["files"] = sorted(
        path.name for path in [*files, out_dir / "summary.json", out_dir / "summary.md"]
    )
    # the one value that differs between runs: every other output repeats byte for byte
    summary["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    write_summary(summary, out_dir)
    return summary


def remove_partial_files(out_dir: Path) -> None:
    """Delete the run-level files a killed run left half-written (``.<name>.partial-<pid>.<suffix>``)."""
    for pattern in (".detections.partial-*", ".summary.partial-*", ".*.quicklook.partial-*"):
        for stale in out_dir.glob(pattern):
            stale.unlink(missing_ok=True)


def empty_map_warnings(maps: Mapping[str, Path]) -> dict[str, str]:
    """Scenes whose map is nodata everywhere, each with a warning line (also printed on stderr).

    The coarsest overview is read: GDAL's averaging skips nodata, so an overview pixel is
    nodata only where every pixel below it is.
    """
    warnings = {}
    for name, path in maps.items():
        with rasterio.open(path) as src:
            scale = max(1, max(src.height, src.width) // 256)
            mask = src.read_masks(1, out_shape=(max(1, src.height // scale), max(1, src.width // scale)))
        if not mask.any():
            warnings[name] = f"{path.name}: every pixel is nodata (the scene holds no valid reflectance)"
            print(f"warning: {warnings[name]}", file=sys.stderr)
    return warnings


def _plain(value: Any) -> Any:
    """Config values as plain JSON data (DictConfig, paths)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def evaluate_against_truth(
    detections: gpd.GeoDataFrame,
    truth_labels: gpd.GeoDataFrame,
    unregistered_ids: Collection[Any] | None = None,
) -> dict[str, Any]:
    """Score detections against a synthetic world's labels.

    A truth feature is found when a detection intersects it or lies within half a cell
    (``cell_m / 2``) of it; a detection is false when it matches no truth feature.

    Args:
        detections: the run's detections (with ``cell_m``; any CRS).
        truth_labels: the world's ``labels.gpkg`` (columns id, registered, ...).
        unregistered_ids: ids of the world's unregistered mines (``world.json``); None to
            use the labels' ``registered`` column.

    Returns:
        counts and shares: truth found (all and unregistered), false detections.
    """
    truth = truth_labels.to_crs("EPSG:4326").reset_index(drop=True)
    if unregistered_ids is None:
        unregistered = ~truth["registered"].astype(bool)
    else:
        wanted = {str(i) for i in unregistered_ids}
        unregistered = truth["id"].astype(str).isin(wanted)
    found, matched = _matches(detections, truth)
    n_unregistered = int(unregistered.sum())
    n_found_unregistered = int((unregistered & found).sum())
    return {
        "truth": len(truth),
        "truth_found": int(found.sum()),
        "recall": float(found.mean()) if len(truth) else 0.0,
        "unregistered": n_unregistered,
        "unregistered_found": n_found_unregistered,
        "unregistered_recall": n_found_unregistered / n_unregistered if n_unregistered else 0.0,
        "detections": len(detections),
        "false_detections": int((~matched).sum()),
        "false_detection_share": float((~matched).mean()) if len(detections) else 0.0,
    }


def _matches(detections: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> tuple[pd.Series, np.ndarray]:
    """(truth found?, detection matched?) with half-cell tolerance, in a metric CRS."""
    found = pd.Series(False, index=truth.index)
    matched = np.zeros(len(detections), dtype=bool)
    if detections.empty or truth.empty:
        return found, matched
    metric = centre_utm_crs(truth)
    zones = detections.to_crs(metric).reset_index(drop=True)
    cell = zones["cell_m"].fillna(0.0) if "cell_m" in zones.columns else 0.0
    # a point buffered by 0 is empty; a millimetre keeps exact hits
    reach = gpd.GeoDataFrame(geometry=zones.geometry.buffer(np.maximum(cell / 2, 1e-3)), crs=metric)
    pairs = gpd.sjoin(reach, truth[[truth.geometry.name]].to_crs(metric), predicate="intersects")
    found[pairs["index_right"].unique()] = True
    matched[pairs.index.unique()] = True
    return found, matched
