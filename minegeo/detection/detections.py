"""Probability raster -> detections: thresholds, connected components, polygons or sites.

The raster is read in row strips, so a scene never has to fit in memory. Each strip is
labelled on its own (8-connected); components that touch across a strip border are joined
with a union-find over the labels of the two border rows, and their polygons (built in
pixel coordinates, where the strip edges match exactly) are dissolved. Memory holds one
strip plus the per-component statistics and polygons.

Segmentation rasters give one polygon per component. Discovery-FCN rasters (coarse cells,
``geometry.output_stride > 1``) give one point per site, as in the paper: the
probability-weighted centre of its cells, which are 8-connected or ``merge_distance_m``
apart. Areas are geodesic, on the WGS84 ellipsoid, so EPSG:4326 rasters never produce
square degrees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.features import shapes
from rasterio.windows import Window
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely import affinity
from shapely.geometry import Point, shape

from minegeo.bundle import Bundle
from minegeo.errors import MinegeoInputError
from minegeo.geo import WGS84_GEOD, utm_crs
from minegeo.inference.settings import DetectParams

#: Classes that mean "nothing here"; every other class is a detection class by default.
NON_DETECTION_CLASSES = ("background", "not_mine")
#: Pixels read per strip (all bands); bounds the memory of a scene's pass.
DEFAULT_STRIP_PIXELS = 1 << 22
#: Columns of every detections frame, in output order (geometry last).
DETECTION_COLUMNS = (
    "id",
    "scene",
    "class",
    "mean_prob",
    "max_prob",
    "area_m2",
    "n_cells",
    "cell_m",
    "lon",
    "lat",
)

#: Suffix of predict's probability rasters.
PROB_SUFFIX = ".prob.tif"

_WGS84 = CRS.from_epsg(4326)
_EIGHT = np.ones((3, 3), dtype=bool)


def empty_detections() -> gpd.GeoDataFrame:
    """A detections frame with no rows (the columns every writer expects), EPSG:4326."""
    frame = pd.DataFrame({column: pd.Series(dtype=_dtype(column)) for column in DETECTION_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=_WGS84))


def _dtype(column: str) -> str:
    return {"id": "object", "scene": "object", "class": "object", "n_cells": "int64"}.get(column, "float64")


def probability_classes(src: rasterio.DatasetReader, bundle: Bundle | None = None) -> tuple[str, ...]:
    """Class names of a probability raster's bands, from its band descriptions.

    Args:
        src: the open probability raster.
        bundle: used for the names when the bands carry no descriptions.

    Returns:
        one name per band.

    Raises:
        MinegeoInputError: if the bands are unnamed and the bundle does not match them.
    """
    if all(src.descriptions):
        return tuple(str(name) for name in src.descriptions)
    if bundle is not None and len(bundle.class_names) == src.count:
        return bundle.class_names
    raise MinegeoInputError(
        f"{src.name}: probability bands carry no class names (band descriptions); "
        "expected one band per class named after it"
    )


def detection_band_indexes(names: Sequence[str], wanted: Sequence[str] | None, source: str) -> list[int]:
    """0-based band indexes of the detection classes.

    Args:
        names: class name of every band.
        wanted: the classes to detect; None for every class except the "nothing" ones.
        source: the file named in errors.

    Returns:
        the indexes, in band order.

    Raises:
        MinegeoInputError: if a wanted class is not a band, or no class is left.
    """
    if wanted is None:
        indexes = [i for i, name in enumerate(names) if name not in NON_DETECTION_CLASSES]
    else:
        missing = [name for name in wanted if name not in names]
        if missing:
            raise MinegeoInputError(f"{source}: detect.classes {missing} not among the bands {list(names)}")
        indexes = [i for i, name in enumerate(names) if name in wanted]
    if not indexes:
        raise MinegeoInputError(f"{source}: no detection class among the bands {list(names)}")
    return indexes


def read_probabilities(
    src: rasterio.DatasetReader, window: Window | None = None, out_shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Probabilities as float32 (C, H, W) with NaN where nodata, whatever the stored type.

    uint8 rasters are un-scaled with the bands' GDAL scale and offset.

    Args:
        src: the open probability raster.
        window: the part to read; None for all.
        out_shape: (H, W) to read a decimated overview; None for full resolution.

    Returns:
        the probabilities.
    """
    shape_arg = None if out_shape is None else (src.count, *out_shape)
    raw = src.read(window=window, out_shape=shape_arg, masked=True)
    values = raw.data.astype(np.float32)
    scales = np.asarray(src.scales, dtype=np.float32).reshape(-1, 1, 1)
    offsets = np.asarray(src.offsets, dtype=np.float32).reshape(-1, 1, 1)
    if not (np.all(scales == 1.0) and np.all(offsets == 0.0)):
        values = values * scales + offsets
    values[np.ma.getmaskarray(raw)] = np.nan
    return values


@dataclass
class _Components:
    """Per-component statistics gathered strip by strip, joined by a union-find."""

    n_classes: int
    keep_cells: bool
    parent: list[int] = field(default_factory=lambda: [0])
    stats: list[pd.DataFrame] = field(default_factory=list)
    pieces: list[tuple[int, Any]] = field(default_factory=list)
    cells: list[np.ndarray] = field(default_factory=list)

    def find(self, label: int) -> int:
        root = label
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[label] != root:
            self.parent[label], label = root, self.parent[label]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def roots(self) -> np.ndarray:
        return np.array([self.find(label) for label in range(len(self.parent))], dtype=np.int64)


def _add_strip(
    comps: _Components, keep: np.ndarray, score: np.ndarray, class_probs: np.ndarray, row0: int, width: int
) -> np.ndarray:
    """Label one strip, record its components; returns the strip's global labels."""
    local, count = ndimage.label(keep, structure=_EIGHT)
    offset = len(comps.parent)
    comps.parent.extend(range(offset, offset + count))
    if count == 0:
        return np.zeros_like(local, dtype=np.int64)
    flat = local[keep]
    rows, cols = np.nonzero(keep)
    size = count + 1
    stats = {
        "n_cells": np.bincount(flat, minlength=size),
        "sum_prob": np.bincount(flat, score[keep], minlength=size),
        "max_prob": ndimage.maximum(score, local, np.arange(size)),
        "first": ndimage.minimum((rows + row0) * width + cols, flat, np.arange(size)),
        "sum_x": np.bincount(flat, score[keep] * (cols + 0.5), minlength=size),
        "sum_y": np.bincount(flat, score[keep] * (rows + row0 + 0.5), minlength=size),
    }
    for k in range(comps.n_classes):
        stats[f"class_{k}"] = np.bincount(flat, class_probs[k][keep], minlength=size)
    frame = pd.DataFrame(stats).iloc[1:]
    frame.index = np.arange(offset, offset + count)
    comps.stats.append(frame)
    to_pixels = Affine.translation(0, row0)
    for geometry, value in shapes(local.astype(np.int32), mask=keep, connectivity=4, transform=to_pixels):
        comps.pieces.append((offset + int(value) - 1, shape(geometry)))
    if comps.keep_cells:
        comps.cells.append(np.column_stack([rows + row0, cols, flat + offset - 1]))
    return np.where(local > 0, local + offset - 1, 0).astype(np.int64)


def _join_border(comps: _Components, above: np.ndarray, below: np.ndarray) -> None:
    """Union components whose pixels touch (8-connected) across a strip border."""
    width = above.shape[0]
    for shift in (-1, 0, 1):
        a = above[max(0, -shift) : width - max(0, shift)]
        b = below[max(0, shift) : width - max(0, -shift)]
        both = (a > 0) & (b > 0)
        for pair in np.unique(np.column_stack([a[both], b[both]]), axis=0):
            comps.union(int(pair[0]), int(pair[1]))


def _strip_mask(
    probs: np.ndarray, band_indexes: list[int], params: DetectParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detection score, class probabilities and kept pixels of a strip read with a halo."""
    class_probs = probs[band_indexes]
    with np.errstate(invalid="ignore"):
        score = np.minimum(class_probs.sum(axis=0), 1.0)
        above = np.isfinite(score) & (score >= params.threshold)
        keep = above
        if params.high_threshold is not None:
            neighbours = (
                ndimage.convolve(above.astype(np.uint8), _EIGHT.astype(np.uint8), mode="constant") - above
            )
            keep = above & ((neighbours > 0) | (score >= params.high_threshold))
    return np.nan_to_num(score), np.nan_to_num(class_probs), keep


def _scan(
    src: rasterio.DatasetReader,
    band_indexes: list[int],
    params: DetectParams,
    comps: _Components,
    strip_pixels: int,
) -> None:
    """One pass over the raster in strips (one-row halo each side for the isolation test)."""
    height, width = src.height, src.width
    strip_rows = max(1, strip_pixels // max(1, width * src.count))
    previous_last: np.ndarray | None = None
    for row0 in range(0, height, strip_rows):
        row1 = min(height, row0 + strip_rows)
        top, bottom = max(0, row0 - 1), min(height, row1 + 1)
        probs = read_probabilities(src, Window(0, top, width, bottom - top))
        score, class_probs, keep = _strip_mask(probs, band_indexes, params)
        inner = slice(row0 - top, row0 - top + row1 - row0)
        labels = _add_strip(comps, keep[inner], score[inner], class_probs[:, inner], row0, width)
        if previous_last is not None:
            _join_border(comps, previous_last, labels[0])
        previous_last = labels[-1]


def scene_name(prob_path: Path, scene_path: Path) -> str:
    """The name of a scene's detections: the stem of its ``<stem>.prob.tif``.

    The probability raster carries predict's scene stem (a mosaic of Earth Engine tiles
    is named after the tiles' common stem); other names fall back to the scene's stem.
    """
    name = Path(prob_path).name
    return name[: -len(PROB_SUFFIX)] if name.endswith(PROB_SUFFIX) else Path(scene_path).stem


def geodesic_area_m2(geometry: Any) -> float:
    """Area in m² of a lon/lat geometry, on the WGS84 ellipsoid."""
    area, _ = WGS84_GEOD.geometry_area_perimeter(geometry)
    return abs(float(area))


def _merge_close_cells(
    comps: _Components, to_lonlat: Transformer, distance_m: float, transform: Affine
) -> None:
    """Union FCN components with cells closer than ``distance_m`` centre to centre."""
    if not comps.cells:
        return
    cells = np.concatenate(comps.cells)
    xs, ys = rasterio.transform.xy(transform, cells[:, 0], cells[:, 1], offset="center")
    lons, lats = to_lonlat.transform(xs, ys)
    metric = Transformer.from_crs(_WGS84, utm_crs(float(np.mean(lons)), float(np.mean(lats))), always_xy=True)
    points = np.column_stack(metric.transform(lons, lats))
    for i, j in cKDTree(points).query_pairs(distance_m):
        comps.union(int(cells[i, 2]), int(cells[j, 2]))


def _sites(comps: _Components) -> pd.DataFrame:
    """Statistics per final component (roots), with its dissolved pixel-space geometry."""
    if not comps.stats:
        return pd.DataFrame()
    roots = comps.roots()
    stats = pd.concat(comps.stats)
    stats["root"] = roots[stats.index.to_numpy()]
    maxima = {"max_prob": "max", "first": "min"}
    sites = stats.groupby("root").agg({c: maxima.get(c, "sum") for c in stats.columns if c != "root"})
    pieces: dict[int, list[Any]] = {}
    for label, geometry in comps.pieces:
        pieces.setdefault(int(roots[label]), []).append(geometry)
    sites["pixels"] = [shapely.union_all(pieces[int(root)]) for root in sites.index]
    return sites.sort_values("first")


def _to_frame(
    sites: pd.DataFrame,
    class_names: list[str],
    to_lonlat: Transformer,
    transform: Affine,
    scene: str,
    points: bool,
) -> gpd.GeoDataFrame:
    """Sites in pixel space -> the detections frame in EPSG:4326."""
    coefficients = [transform.a, transform.b, transform.d, transform.e, transform.xoff, transform.yoff]

    def lonlat(geometry: Any) -> Any:
        native = affinity.affine_transform(geometry, coefficients)
        return shapely.transform(native, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))

    outlines = [lonlat(geometry) for geometry in sites["pixels"]]
    if points:
        centres = [
            Point(x, y)
            for x, y in zip(
                sites["sum_x"] / sites["sum_prob"], sites["sum_y"] / sites["sum_prob"], strict=True
            )
        ]
    else:
        centres = [geometry.centroid for geometry in sites["pixels"]]
    centres = [lonlat(point) for point in centres]
    class_sums = sites[[f"class_{k}" for k in range(len(class_names))]].to_numpy()
    area = np.array([geodesic_area_m2(geometry) for geometry in outlines])
    frame = pd.DataFrame(
        {
            "id": [f"{scene}-{k:05d}" for k in range(len(sites))],
            "scene": scene,
            "class": np.asarray(class_names, dtype=object)[class_sums.argmax(axis=1)],
            "mean_prob": (sites["sum_prob"] / sites["n_cells"]).to_numpy(),
            "max_prob": sites["max_prob"].to_numpy(dtype=float),
            "area_m2": area,
            "n_cells": sites["n_cells"].to_numpy(dtype=np.int64),
            "cell_m": np.sqrt(area / sites["n_cells"].to_numpy()),
            "lon": [point.x for point in centres],
            "lat": [point.y for point in centres],
        }
    )
    return gpd.GeoDataFrame(frame, geometry=centres if points else outlines, crs=_WGS84)


def detect_scene(
    prob_path: Path,
    scene_path: Path,
    bundle: Bundle,
    cfg: DetectParams | Mapping[str, Any],
    *,
    strip_pixels: int = DEFAULT_STRIP_PIXELS,
) -> gpd.GeoDataFrame:
    """Detections of one scene from its probability raster.

    Args:
        prob_path: the scene's ``<stem>.prob.tif`` (one band per class, named after it).
        scene_path: the scene it was predicted from (names the detections when the
            raster is not called ``<stem>.prob.tif``).
        bundle: the checkpoint bundle of the model that made the raster.
        cfg: the ``detect`` settings (or a mapping of them, checked here).
        strip_pixels: raster values read at once (all bands); bounds memory.

    Returns:
        one row per detection (columns ``DETECTION_COLUMNS``), EPSG:4326: polygons for a
        segmentation model, points (site centres) for the discovery FCN.

    Raises:
        MinegeoInputError: for an unreadable raster or a config that does not fit it.
    """
    params = cfg if isinstance(cfg, DetectParams) else DetectParams(**cfg)
    points = bundle.kind == "classification" or bundle.geometry.output_stride > 1
    try:
        src = rasterio.open(prob_path)
    except rasterio.errors.RasterioIOError as error:
        raise MinegeoInputError(f"{prob_path}: not a readable probability raster ({error})") from error
    with src:
        if src.crs is None:
            raise MinegeoInputError(f"{prob_path}: probability raster has no CRS; expected the scene's")
        names = probability_classes(src, bundle)
        band_indexes = detection_band_indexes(names, params.classes, str(prob_path))
        comps = _Components(
            n_classes=len(band_indexes), keep_cells=points and params.merge_distance_m is not None
        )
        _scan(src, band_indexes, params, comps, strip_pixels)
        to_lonlat = Transformer.from_crs(src.crs, _WGS84, always_xy=True)
        if comps.keep_cells and params.merge_distance_m is not None:
            _merge_close_cells(comps, to_lonlat, params.merge_distance_m, src.transform)
        sites = _sites(comps)
        if sites.empty:
            return empty_detections()
        class_names = [names[i] for i in band_indexes]
        name = scene_name(prob_path, scene_path)
        frame = _to_frame(sites, class_names, to_lonlat, src.transform, name, points)
    return frame[frame["area_m2"] >= params.min_area_m2].reset_index(drop=True)
