"""Quick-look PNG of a scene: true colour, detection probability, detections on top.

Both rasters are read as decimated overviews (``out_shape``), so a quick look of a
state-wide scene costs about as much as one of a patch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from rasterio.coords import BoundingBox
from rasterio.crs import CRS

from minegeo.datasets.raster import open_raster
from minegeo.detection.detections import detection_band_indexes, probability_classes, read_probabilities
from minegeo.io import atomic_path

#: Longest side, in pixels, of the overviews read for a quick look.
MAX_SIDE = 1024
#: Probabilities below this are left transparent on the quick look.
MIN_SHOWN_PROB = 0.1
_RGB = ("B4", "B3", "B2")


def _overview_shape(src: rasterio.DatasetReader, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(src.height, src.width))
    return max(1, round(src.height * scale)), max(1, round(src.width * scale))


def stretch(bands: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Percentile-stretch each band of a (C, H, W) array to [0, 1]; NaN stays NaN.

    Args:
        bands: the values, NaN where nodata.
        low: percentile mapped to 0.
        high: percentile mapped to 1.

    Returns:
        the stretched bands, float32.
    """
    out = np.full(bands.shape, np.nan, dtype=np.float32)
    for k, band in enumerate(bands):
        finite = band[np.isfinite(band)]
        if finite.size == 0:
            continue
        lo, hi = np.percentile(finite, [low, high])
        out[k] = np.clip((band - lo) / max(float(hi - lo), 1e-12), 0.0, 1.0)
    return out


def _scene_image(scene_path: Path, max_side: int) -> tuple[np.ndarray, BoundingBox, CRS]:
    """(H, W, 4) RGBA overview (B4, B3, B2, else band 1 in grey), its bounds and CRS."""
    with open_raster(scene_path) as src:
        names = tuple(src.descriptions) if all(src.descriptions) else ()
        indexes = [names.index(band) + 1 for band in _RGB] if set(_RGB) <= set(names) else [1, 1, 1]
        raw = src.read(indexes, out_shape=(3, *_overview_shape(src, max_side)), masked=True)
        values = np.ma.filled(raw.astype(np.float32), np.nan)
        rgb = stretch(values)
        alpha = np.isfinite(rgb).all(axis=0).astype(np.float32)
        image = np.dstack([np.nan_to_num(np.moveaxis(rgb, 0, -1), nan=1.0), alpha])
        return image, src.bounds, src.crs


def _probability_image(
    prob_path: Path, classes: Sequence[str] | None, max_side: int
) -> tuple[np.ma.MaskedArray, BoundingBox]:
    """Detection-class probability overview (masked below ``MIN_SHOWN_PROB``) and its bounds."""
    with open_raster(prob_path) as src:
        indexes = detection_band_indexes(probability_classes(src), classes, str(prob_path))
        probs = read_probabilities(src, out_shape=_overview_shape(src, max_side))
        score = probs[indexes].sum(axis=0)
        return np.ma.masked_where(~(score >= MIN_SHOWN_PROB), score), src.bounds


def _draw_detections(axes: Axes, detections: gpd.GeoDataFrame, crs: CRS) -> None:
    """Outlines (polygons) or rings (points): red unregistered, green registered."""
    if detections.empty:
        return
    local = detections.to_crs(crs)
    registered = local["registered"] if "registered" in local.columns else np.zeros(len(local), bool)
    colours = np.where(np.asarray(registered, dtype=bool), "lime", "red")
    points = local.geometry.geom_type == "Point"
    if points.any():
        axes.scatter(
            local.geometry[points].x,
            local.geometry[points].y,
            s=60,
            facecolors="none",
            edgecolors=colours[points],
        )
    if (~points).any():
        local[~points].boundary.plot(ax=axes, color=colours[~points], linewidth=1.5)


def _add_legend(axes: Axes, detections: gpd.GeoDataFrame) -> None:
    """Say what the outline colours mean, with the count of each."""
    registered = detections["registered"] if "registered" in detections.columns else np.zeros(0, bool)
    count = int(np.asarray(registered, dtype=bool).sum())
    handles = [
        Line2D([], [], color="lime", linewidth=1.5, label=f"registered ({count})"),
        Line2D([], [], color="red", linewidth=1.5, label=f"unregistered ({len(detections) - count})"),
    ]
    axes.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.8)


def write_quicklook(
    scene_path: Path,
    prob_path: Path,
    detections: gpd.GeoDataFrame,
    target: Path,
    classes: Sequence[str] | None = None,
    max_side: int = MAX_SIDE,
) -> Path:
    """Write a scene's quick-look PNG.

    Args:
        scene_path: the scene (true colour from B4, B3, B2 when present).
        prob_path: its probability raster (same CRS).
        detections: this scene's detections, any CRS.
        target: the PNG to write.
        classes: detection classes summed for the overlay; None for the default ones.
        max_side: longest side of the overviews read.

    Returns:
        ``target``.
    """
    image, bounds, crs = _scene_image(scene_path, max_side)
    score, prob_bounds = _probability_image(prob_path, classes, max_side)
    height, width = image.shape[:2]
    figure = Figure(figsize=(8.0, float(np.clip(8.0 * height / width, 3.0, 16.0))), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.imshow(image, extent=(bounds.left, bounds.right, bounds.bottom, bounds.top))
    extent = (prob_bounds.left, prob_bounds.right, prob_bounds.bottom, prob_bounds.top)
    shown = axes.imshow(score, extent=extent, cmap="inferno", vmin=0.0, vmax=1.0, alpha=0.55)
    figure.colorbar(shown, ax=axes, fraction=0.046, label="detection probability")
    _draw_detections(axes, detections, crs)
    _add_legend(axes, detections)
    axes.set_xlim(bounds.left, bounds.right)
    axes.set_ylim(bounds.bottom, bounds.top)
    axes.set_title(f"{Path(scene_path).stem}: {len(detections)} detection(s)")
    axes.tick_params(labelsize=7)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png", bbox_inches="tight")
    return target
