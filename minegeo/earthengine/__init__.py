"""minegeo.earthengine: Sentinel-2 exports from Earth Engine (patches, scan tiles, tasks).

Planning (regions, grids, names, manifest) never imports ``ee``; functions that build
Earth Engine expressions take the ``ee`` module as an argument.
"""

from minegeo.earthengine.auth import initialize, redact, resolve_key_path, resolve_project
from minegeo.earthengine.collection import CompositeSpec, cloud_masker, composite
from minegeo.earthengine.geodesy import offset, square_bounds
from minegeo.earthengine.grid import TILE_NAME, ScanTile, read_aoi, scan_grid
from minegeo.earthengine.manifest import merge_manifest, read_manifest, write_manifest
from minegeo.earthengine.names import sanitize_name, unique_names
from minegeo.earthengine.plan import Destination, ExportTask, plan_tasks
from minegeo.earthengine.regions import PatchRegion, hard_negatives, patch_regions, sample_negatives
from minegeo.earthengine.runner import ExportSummary, plan_from_config, run_export
from minegeo.earthengine.sources import read_sites
from minegeo.earthengine.tasks import RetryPolicy, TaskPolicy, build_export, is_transient, submit_all

__all__ = [
    "TILE_NAME",
    "CompositeSpec",
    "Destination",
    "ExportSummary",
    "ExportTask",
    "PatchRegion",
    "RetryPolicy",
    "ScanTile",
    "TaskPolicy",
    "build_export",
    "cloud_masker",
    "composite",
    "hard_negatives",
    "initialize",
    "is_transient",
    "merge_manifest",
    "offset",
    "patch_regions",
    "plan_from_config",
    "plan_tasks",
    "read_aoi",
    "read_manifest",
    "read_sites",
    "redact",
    "resolve_key_path",
    "resolve_project",
    "run_export",
    "sample_negatives",
    "sanitize_name",
    "scan_grid",
    "square_bounds",
    "submit_all",
    "unique_names",
    "write_manifest",
]
