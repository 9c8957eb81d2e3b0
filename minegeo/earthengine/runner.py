"""The export command's body: config -> plan -> manifest -> (unless dry run) Earth Engine.

A dry run plans, writes ``manifest.csv`` and prints totals without importing ``ee``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from omegaconf import DictConfig, ListConfig, OmegaConf

from minegeo.earthengine import auth
from minegeo.earthengine.collection import CompositeSpec, collection_bands
from minegeo.earthengine.geodesy import EE_METRES_PER_DEGREE
from minegeo.earthengine.grid import ScanTile, read_aoi, scan_grid
from minegeo.earthengine.manifest import merge_manifest, read_manifest, write_manifest
from minegeo.earthengine.plan import Destination, ExportTask, plan_tasks
from minegeo.earthengine.regions import PatchRegion, hard_negatives, patch_regions, sample_negatives
from minegeo.earthengine.sources import read_sites
from minegeo.earthengine.tasks import RetryPolicy, TaskPolicy, build_export, submit_all
from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path
from minegeo.periods import Period, parse_periods

__all__ = ["ExportSummary", "plan_from_config", "run_export"]

log = logging.getLogger(__name__)

#: Random negatives fall within the positives' convex hull widened by this many minimum distances.
_HULL_MARGIN = 3


@dataclass
class ExportSummary:
    """What a run planned (and, unless dry, how its tasks ended)."""

    out: Path
    manifest: Path
    tasks: int
    pixels: int
    estimated_bytes: int
    by_group: dict[str, int]
    dtype: str = "float32"
    states: dict[str, int] = field(default_factory=dict)
    #: Labels of the exported periods (empty: one composite from the collection's dates).
    periods: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable totals, one fact per line."""
        groups = ", ".join(f"{n} {group}" for group, n in sorted(self.by_group.items()))
        lines = [
            f"tasks: {self.tasks} ({groups})",
            f"pixels: {self.pixels:,} per band",
            f"estimated size: {_human_bytes(self.estimated_bytes)} ({self.dtype}, uncompressed)",
            f"manifest: {self.manifest}",
        ]
        if self.periods:
            lines.insert(
                1, f"periods: {len(self.periods)} ({', '.join(self.periods)}), one task each per site or tile"
            )
        if self.states:
            lines.append("states: " + ", ".join(f"{n} {state}" for state, n in sorted(self.states.items())))
        return lines


def _human_bytes(count: int) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 1e9 else f"{count / 1e6:.1f} MB"


def composite_spec(cfg: DictConfig) -> CompositeSpec:
    """The composite spec of the export config: its ``collection`` and ``dtype``.

    Bands left null are the collection's own band group (L1C: 13, L2A: 12).
    """
    collection = cfg.collection
    return CompositeSpec(
        collection=str(collection.id),
        start=str(collection.start),
        end=str(collection.end),
        max_cloud_percentage=float(collection.max_cloud_percentage),
        cloud_mask=collection.cloud_mask,
        cs_threshold=float(collection.cs_threshold),
        bands=collection_bands(str(collection.id), collection.bands),
        dtype=cfg.dtype,
    )


def plan_from_config(cfg: DictConfig) -> list[ExportTask]:
    """Plan every export the config asks for: patches around ``points``, tiles over ``aoi``.

    Args:
        cfg: the export config (``conf/export.yaml``).

    Returns:
        the tasks, patches first.

    Raises:
        MinegeoInputError: if nothing is asked for, or an input is invalid.
    """
    aoi = _aoi(cfg.aoi)
    items: list[PatchRegion | ScanTile] = []
    if cfg.points:
        side_m = cfg.patch.size_px * cfg.collection.scale
        items += patch_regions(training_sites(cfg, aoi), side_m)
    if aoi is not None:
        overlap_m = cfg.scan.overlap_px * cfg.collection.scale + cfg.scan.overlap_margin_m
        aoi_name = cfg.aoi.name or cfg.aoi.state or (Path(cfg.aoi.path).stem if cfg.aoi.path else "bbox")
        items += scan_grid(aoi, cfg.scan.tile_km * 1000, overlap_m, aoi_name)
    if not items:
        raise MinegeoInputError(
            "nothing to export: points and aoi are both empty; expected points=<file> and/or aoi.path, "
            "aoi.bbox or aoi.state"
        )
    spec = composite_spec(cfg)
    return plan_tasks(
        items,
        Destination(**OmegaConf.to_container(cfg.destination)),  # type: ignore[arg-type]
        cfg.collection.crs,
        float(cfg.collection.scale),
        spec.bands,
        export_periods(cfg.periods),
        spec.dtype,
    )


def export_periods(setting: Any) -> list[Period]:
    """The ``periods`` of the config (none: one composite from the collection's dates).

    Raises:
        MinegeoInputError: for a value that is not a list of periods, or a bad period.
    """
    if setting is None:
        return []
    if isinstance(setting, str | int) or not isinstance(setting, Sequence | ListConfig):
        raise MinegeoInputError(f"periods={setting}: expected a list such as [2019,2020] or [2025Q1,2025Q2]")
    return parse_periods(setting)


def training_sites(cfg: DictConfig, aoi: shapely.Geometry | None) -> gpd.GeoDataFrame:
    """Sites from ``points``, plus hard negatives and random negatives as configured.

    Args:
        cfg: the export config.
        aoi: where random negatives may fall (default: around the positives).

    Returns:
        one site table.
    """
    sites = read_sites(cfg.points, cfg.points_class, cfg.label_column, cfg.id_column)
    negatives = cfg.negatives
    positives = sites[sites["label"] != negatives.label]
    frames = [sites]
    if cfg.hard_negatives:
        lookalikes = read_sites(cfg.hard_negatives, "lookalike", cfg.label_column)
        frames.append(hard_negatives(lookalikes, positives, negatives.min_distance_m, negatives.label))
    count = len(positives) if negatives.count is None else int(negatives.count)
    if count > 0:
        domain = aoi if aoi is not None else _around(positives, negatives.min_distance_m)
        frames.append(
            sample_negatives(
                positives, domain, count, negatives.min_distance_m, negatives.seed, negatives.label
            )
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)


def _around(sites: gpd.GeoDataFrame, min_distance_m: float) -> shapely.Geometry:
    margin = _HULL_MARGIN * min_distance_m / EE_METRES_PER_DEGREE
    return shapely.convex_hull(shapely.union_all(sites.geometry.to_numpy())).buffer(margin)


def _aoi(cfg: DictConfig) -> shapely.Geometry | None:
    if cfg.path is None and cfg.bbox is None and cfg.state is None:
        return None
    bbox: Sequence[float] | None = list(cfg.bbox) if cfg.bbox is not None else None
    return read_aoi(cfg.path, bbox, cfg.state, cfg.boundary_file)


def run_export(cfg: DictConfig, ee: Any = None, sleep: Callable[[float], None] = time.sleep) -> ExportSummary:
    """Plan, write the manifest and (unless ``dry_run``) submit and watch the exports.

    Args:
        cfg: the export config.
        ee: the Earth Engine module; imported (and initialised) only for a real run.
        sleep: the sleeping function used between polls and retries.

    Returns:
        the run's summary.
    """
    tasks = plan_from_config(cfg)
    out = Path(cfg.out)
    manifest = out / "manifest.csv"
    rows = merge_manifest(read_manifest(manifest), tasks)
    write_manifest(manifest, rows)
    with atomic_path(out / "export_config.yaml") as tmp:
        tmp.write_text(OmegaConf.to_yaml(auth.redact(cfg)), encoding="utf-8")
    summary = _summarise(out, manifest, tasks)
    if cfg.dry_run:
        return summary
    if ee is None:
        import ee  # deferred: a dry run must not load Earth Engine or its credentials
    auth.initialize(
        ee, auth.resolve_project(cfg.auth.project), auth.resolve_key_path(cfg.auth.service_account_key)
    )
    spec = composite_spec(cfg)
    destination = Destination(**OmegaConf.to_container(cfg.destination))  # type: ignore[arg-type]
    policy = TaskPolicy(
        max_active=int(cfg.tasks.max_active),
        poll_seconds=float(cfg.tasks.poll_seconds),
        wait=bool(cfg.tasks.wait),
        retry=RetryPolicy(**OmegaConf.to_container(cfg.tasks.retry)),  # type: ignore[arg-type]
    )
    summary.states = submit_all(
        ee, tasks, rows, manifest, lambda task: build_export(ee, task, spec, destination), policy, sleep
    )
    return summary


def _summarise(out: Path, manifest: Path, tasks: list[ExportTask]) -> ExportSummary:
    by_group: dict[str, int] = {}
    for task in tasks:
        key = f"{task.kind} {task.group}" if task.kind == "patch" else "scan tiles"
        by_group[key] = by_group.get(key, 0) + 1
    return ExportSummary(
        out=out,
        manifest=manifest,
        tasks=len(tasks),
        pixels=sum(task.pixels for task in tasks),
        estimated_bytes=sum(task.estimated_bytes for task in tasks),
        by_group=by_group,
        dtype=tasks[0].dtype,
        states={},
        periods=sorted({task.period.label for task in tasks if task.period}),
    )
