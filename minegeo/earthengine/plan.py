"""Export tasks as plain data: what each task exports, where to, and how big it will be.

Planning needs no Earth Engine: it turns patch regions and scan tiles into ``ExportTask``
rows (geometry, CRS, grid, bands, encoding, pixel counts, estimated bytes, destination), which the
dry run writes to ``manifest.csv`` and the real run submits.

With periods, every region or tile becomes one task per period, named
``<name>.<period>``. A task's pixel grid (``crs_transform``) depends on its region, CRS
and scale only, snapped to whole pixels of the CRS, so the periods of one place stack
pixel for pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import shapely
from pyproj import CRS, Transformer

from minegeo.earthengine.collection import ENCODINGS, Encoding, ExportDtype
from minegeo.earthengine.geodesy import EE_METRES_PER_DEGREE
from minegeo.earthengine.grid import ScanTile
from minegeo.earthengine.names import sanitize_name
from minegeo.earthengine.regions import PatchRegion
from minegeo.errors import MinegeoInputError
from minegeo.geo import utm_epsg
from minegeo.periods import Period

__all__ = ["Destination", "ExportTask", "pixel_grid", "plan_tasks", "resolve_crs"]

#: An affine pixel grid as Earth Engine's ``crsTransform`` takes it:
#: (x scale, x shear, x origin, y shear, y scale, y origin).
Transform = tuple[float, float, float, float, float, float]

#: Folder (Drive) or path segment (Cloud Storage) of scan tiles.
SCAN_GROUP = "scan"


@dataclass(frozen=True)
class Destination:
    """Where exported files go: a Google Drive folder per class, or a Cloud Storage bucket."""

    kind: Literal["drive", "gcs"] = "drive"
    #: Drive: base folder name; each class gets ``<folder>_<class>`` (Drive folders are flat).
    folder: str = "minegeo"
    #: Cloud Storage bucket name (without ``gs://``).
    bucket: str | None = None
    #: Cloud Storage object prefix under which ``<class>/<class>_<id>.tif`` files land.
    prefix: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("drive", "gcs"):
            raise MinegeoInputError(f"destination.kind {self.kind!r} is not valid; expected drive or gcs")
        if self.kind == "gcs" and not self.bucket:
            raise MinegeoInputError(
                "destination.bucket is empty; expected a bucket name with destination.kind=gcs"
            )
        if any(part.strip() and not any(c.isalnum() for c in part) for part in self.prefix.split("/")):
            raise MinegeoInputError(
                f"destination.prefix {self.prefix!r} has a part without letters or digits; "
                "expected a path like runs/2019"
            )

    def locate(self, group: str, name: str) -> tuple[str, str]:
        """Container (Drive folder or bucket) and ``fileNamePrefix`` of a file.

        Args:
            group: the class (patches) or ``scan`` (tiles).
            name: the file stem.

        Returns:
            (folder or bucket, file name prefix).
        """
        if self.kind == "drive":
            return (f"{sanitize_name(self.folder)}_{group}" if self.folder else group), name
        segments = [sanitize_name(s) for s in self.prefix.split("/") if s.strip()]
        return str(self.bucket), "/".join([*segments, group, name])

    def uri(self, container: str, file_prefix: str) -> str:
        """Where the file will appear, for the manifest (``gs://...`` or ``drive://folder/...``)."""
        scheme = "drive" if self.kind == "drive" else "gs"
        return f"{scheme}://{container}/{file_prefix}.tif"


@dataclass(frozen=True)
class ExportTask:
    """One image export: a region of the composite written as one GeoTIFF (or EE's splits)."""

    name: str
    kind: Literal["patch", "tile"]
    #: Class (patches) or ``scan`` (tiles).
    group: str
    #: (west, south, east, north) in EPSG:4326.
    bounds: tuple[float, float, float, float]
    crs: str
    scale: float
    bands: tuple[str, ...]
    width: int
    height: int
    #: Drive folder or bucket.
    container: str
    file_prefix: str
    uri: str
    #: The pixel grid in ``crs``: top-left corner snapped to whole pixels.
    crs_transform: Transform
    #: The period whose composite this task exports (None: the collection's dates).
    period: Period | None = None
    dtype: ExportDtype = "float32"

    @property
    def encoding(self) -> Encoding:
        """How the file stores reflectance (its scale and nodata value)."""
        return ENCODINGS[self.dtype]

    @property
    def pixels(self) -> int:
        """Pixels per band."""
        return self.width * self.height

    @property
    def estimated_bytes(self) -> int:
        """Uncompressed size of the file."""
        return self.pixels * len(self.bands) * self.encoding.bytes_per_value

    @property
    def wkt(self) -> str:
        """The region as WKT (EPSG:4326)."""
        return shapely.box(*self.bounds).wkt


def resolve_crs(crs: str, bounds: tuple[float, float, float, float]) -> str:
    """The CRS a task exports in: ``utm`` picks the UTM zone of the region's centre.

    Args:
        crs: ``EPSG:4326`` (default), ``utm``, or any ``EPSG:<code>``.
        bounds: the region (west, south, east, north).

    Returns:
        an ``EPSG:<code>`` string.
    """
    if crs.lower() == "utm":
        west, south, east, north = bounds
        return f"EPSG:{utm_epsg((west + east) / 2, (south + north) / 2)}"
    try:
        code = CRS.from_user_input(crs).to_epsg()
    except Exception as error:  # pyproj raises CRSError, a bare Exception subclass
        raise MinegeoInputError(
            f"collection.crs {crs!r} is not a CRS; expected EPSG:4326, utm or EPSG:<code>"
        ) from error
    if code is None:
        raise MinegeoInputError(
            f"collection.crs {crs!r} has no EPSG code; expected EPSG:4326, utm or EPSG:<code>"
        )
    return f"EPSG:{code}"


def pixel_shape(bounds: tuple[float, float, float, float], crs: str, scale: float) -> tuple[int, int]:
    """Estimated (width, height) in pixels of a region exported at ``scale`` in ``crs``.

    Earth Engine turns a scale in metres into degrees at the equator for geographic CRSs
    (so 10 m is 8.98e-5 degrees both ways); projected CRSs take the region's extent there.

    Args:
        bounds: (west, south, east, north) in EPSG:4326.
        crs: an ``EPSG:<code>`` string.
        scale: metres per pixel.

    Returns:
        (width, height).
    """
    target = CRS.from_user_input(crs)
    if target.is_geographic:
        west, south, east, north = bounds
        step = scale / EE_METRES_PER_DEGREE
        return math.ceil((east - west) / step - 1e-6), math.ceil((north - south) / step - 1e-6)
    transformer = Transformer.from_crs(4326, target, always_xy=True)
    left, bottom, right, top = transformer.transform_bounds(*bounds, densify_pts=21)
    return math.ceil((right - left) / scale - 1e-6), math.ceil((top - bottom) / scale - 1e-6)


def pixel_grid(
    bounds: tuple[float, float, float, float], crs: str, scale: float
) -> tuple[Transform, int, int]:
    """The pixel grid covering a region: its transform (snapped to whole pixels) and size.

    Snapping the corner to a multiple of the pixel size makes the grid a function of the
    region alone, so exports of the same region in different periods share it.

    Args:
        bounds: (west, south, east, north) in EPSG:4326.
        crs: an ``EPSG:<code>`` string.
        scale: metres per pixel (degrees at Earth Engine's equatorial metre for
            geographic CRSs).

    Returns:
        (crsTransform, width, height).
    """
    target = CRS.from_user_input(crs)
    if target.is_geographic:
        step = scale / EE_METRES_PER_DEGREE
        left, bottom, right, top = bounds
    else:
        step = scale
        transformer = Transformer.from_crs(4326, target, always_xy=True)
        left, bottom, right, top = transformer.transform_bounds(*bounds, densify_pts=21)
    # Rounded to 1e-6 of a pixel first, so float noise never adds a pixel.
    col0, row0 = math.floor(round(left / step, 6)), math.ceil(round(top / step, 6))
    col1, row1 = math.ceil(round(right / step, 6)), math.floor(round(bottom / step, 6))
    transform: Transform = (step, 0.0, col0 * step, 0.0, -step, row0 * step)
    return transform, col1 - col0, row0 - row1


def plan_tasks(
    items: Sequence[PatchRegion | ScanTile],
    destination: Destination,
    crs: str,
    scale: float,
    bands: tuple[str, ...],
    periods: Sequence[Period] = (),
    dtype: ExportDtype = "float32",
) -> list[ExportTask]:
    """Turn patch regions or scan tiles into export tasks, one per period of each.

    Args:
        items: patch regions (files ``<class>/<class>_<id>.tif``) or scan tiles (``scan/...``).
        destination: where the files go.
        crs: ``EPSG:4326``, ``utm`` or ``EPSG:<code>``.
        scale: metres per pixel.
        bands: the exported bands.
        periods: the periods to export (names ``<name>.<period>``); none: one task per
            item, named after it, from the collection's dates.
        dtype: ``float32`` reflectance or ``uint16`` digital numbers.

    Returns:
        the tasks, period by period, items in order within each.
    """
    chosen: Sequence[Period | None] = periods or [None]
    return [_task(item, destination, crs, scale, bands, period, dtype) for period in chosen for item in items]


def _task(
    item: PatchRegion | ScanTile,
    destination: Destination,
    crs: str,
    scale: float,
    bands: tuple[str, ...],
    period: Period | None,
    dtype: ExportDtype,
) -> ExportTask:
    kind: Literal["patch", "tile"] = "patch" if isinstance(item, PatchRegion) else "tile"
    group = item.label if isinstance(item, PatchRegion) else SCAN_GROUP
    name = item.name if period is None else f"{item.name}.{period.label}"
    task_crs = resolve_crs(crs, item.bounds)
    transform, width, height = pixel_grid(item.bounds, task_crs, scale)
    container, file_prefix = destination.locate(group, name)
    return ExportTask(
        name,
        kind,
        group,
        item.bounds,
        task_crs,
        scale,
        bands,
        width,
        height,
        container,
        file_prefix,
        destination.uri(container, file_prefix),
        transform,
        period,
        dtype,
    )
