"""The end of a predict run: ore types, registry cross-check, detection files, summary.

:func:`finish_run` takes the detections of every scene and writes, each atomically,
``detections.{geojson,gpkg,kml,csv}``, ``summary.json``, ``summary.md`` and a quick-look
PNG per scene. :func:`evaluate_against_truth` scores detections against a synthetic
world's labels.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from minegeo.inference.detections import DETECTION_COLUMNS, empty_detections, scene_name, utm_crs
from minegeo.inference.oretype import run_ore_type_stage
from minegeo.inference.quicklook import write_quicklook
from minegeo.inference.registry_check import REGISTRY_COLUMNS, cross_check, load_registries
from minegeo.io import atomic_path

#: Detection files of a run: suffix -> GDAL driver.
VECTOR_DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "kml": "KML", "csv": "CSV"}
#: Driver options: KML placemarks are named by detection id; CSV carries WKT geometry.
_DRIVER_OPTIONS: dict[str, dict[str, dict[str, str]]] = {
    "KML": {"dataset_options": {"NameField": "id"}},
    "CSV": {"layer_options": {"GEOMETRY": "AS_WKT"}},
}
ORE_COLUMNS = ("ore_type", "ore_type_prob")


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
    for suffix, driver in VECTOR_DRIVERS.items():
        target = Path(out_dir) / f"detections.{suffix}"
        with atomic_path(target) as tmp:
            options = _DRIVER_OPTIONS.get(driver, {})
            frame.to_file(tmp, driver=driver, layer="detections", engine="pyogrio", **options)
        written.append(target)
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
        "registry_id",
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
) -> dict[str, Any]:
    """Counts, areas and the top unregistered sites of a run.

    Args:
        detections: the kept detections, cross-checked (``REGISTRY_COLUMNS`` present).
        dropped: detections the ore-type stage dropped.
        scene_names: every scene of the run (scenes without detections count too).
        registry_checked: whether any registry was given.
        bad_registry_rows: registry rows that could not be read.
        top_n: how many unregistered sites to list.

    Returns:
        the summary, JSON-ready.
    """
    registered = detections["registered"].astype(bool)
    area_km2 = detections["area_m2"] / 1e6
    summary: dict[str, Any] = {
        "scenes": len(scene_names),
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
        f"Scenes: {summary['scenes']}. Registry checked: {'yes' if summary['registry_checked'] else 'no'}"
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
    return "\n".join(lines) + "\n"


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
    detections: list[gpd.GeoDataFrame], scenes: list[tuple[Path, Path]], out_dir: Path, cfg: Mapping[str, Any]
) -> dict[str, Any]:
    """Ore types, registry cross-check and every run-level output of predict.

    Args:
        detections: each scene's frame from :func:`~minegeo.inference.detections.detect_scene`.
        scenes: (scene path, probability raster path) of every scene of the run.
        out_dir: the run's output folder.
        cfg: the predict config (nodes ``oretype``, ``registry``, ``report``, ``detect``).

    Returns:
        the summary (also written to ``summary.json``).

    Raises:
        MinegeoInputError: for an unreadable ore-type checkpoint or registry file.
    """
    out_dir = Path(out_dir)
    frame = _concat(detections)
    names = [scene_name(Path(prob), Path(scene)) for scene, prob in scenes]
    scene_paths = {name: Path(scene) for name, (scene, _) in zip(names, scenes, strict=True)}
    oretype, registry_cfg, report = cfg["oretype"], cfg["registry"], cfg["report"]
    dropped = frame.iloc[:0]
    if oretype.get("ckpt"):
        frame, dropped = run_ore_type_stage(
            frame,
            scene_paths,
            oretype["ckpt"],
            list(oretype.get("drop_classes") or []),
            int(oretype["batch_size"]),
        )
    registry, bad_rows = load_registries(registry_cfg.get("concessions"), registry_cfg.get("dams"))
    frame = _ordered(cross_check(frame, registry, float(registry_cfg.get("max_distance_m") or 0.0)))
    files = write_detections(frame, out_dir)
    if report.get("quicklook", True):
        classes = cfg.get("detect", {}).get("classes")
        for name, (scene, prob) in zip(names, scenes, strict=True):
            own = frame[frame["scene"] == name]
            target = out_dir / f"{name}.quicklook.png"
            files.append(write_quicklook(Path(scene), Path(prob), own, target, classes=classes))
    summary = build_summary(
        frame, dropped, list(scene_paths), registry is not None, len(bad_rows), int(report["top_n"])
    )
    summary["settings"] = {key: _plain(cfg.get(key)) for key in ("ckpt", "detect", "oretype", "registry")}
    summary["files"] = sorted(
        path.name for path in [*files, out_dir / "summary.json", out_dir / "summary.md"]
    )
    write_summary(summary, out_dir)
    return summary


def _plain(value: Any) -> Any:
    """Config values as plain JSON data (DictConfig, paths)."""
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
    centre = truth.geometry.union_all().centroid
    metric = utm_crs(centre.x, centre.y)
    zones = detections.to_crs(metric).reset_index(drop=True)
    cell = zones["cell_m"].fillna(0.0) if "cell_m" in zones.columns else 0.0
    # a point buffered by 0 is empty; a millimetre keeps exact hits
    reach = gpd.GeoDataFrame(geometry=zones.geometry.buffer(np.maximum(cell / 2, 1e-3)), crs=metric)
    pairs = gpd.sjoin(reach, truth[[truth.geometry.name]].to_crs(metric), predicate="intersects")
    found[pairs["index_right"].unique()] = True
    matched[pairs.index.unique()] = True
    return found, matched
