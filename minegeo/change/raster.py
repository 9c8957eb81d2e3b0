"""The change COG of a place: per pixel, the first period detected and how many periods.

A pixel is detected in a period when its detection-class probability reaches the
detection threshold, and counts there under the same temporal consistency rule as the
sites (``minegeo.change.sites.counted_periods``). Band ``first_period`` holds the 1-based
index of the first period it counts in (0: never; the ``period_<k>`` tags name them);
band ``periods_detected`` the number of periods it counts in, whose non-zero pixels are
the cumulative footprint. Maps are read in row strips, so memory holds one strip of every
period.

A period whose map is on another grid than the first period's (CRS, transform or size)
is resampled onto the first period's grid, nearest neighbour, with a warning: sites are
matched in map coordinates, so only this raster needs a common grid, and nearest
neighbour keeps every probability a map holds. Exports of one place share their grid, so
this only happens with maps from elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from minegeo.change.params import ChangeParams
from minegeo.change.series import TimeSeries
from minegeo.change.sites import counted_periods
from minegeo.detection.detections import detection_band_indexes, probability_classes, read_probabilities
from minegeo.io import atomic_path

__all__ = ["CHANGE_BANDS", "write_change_raster"]

log = logging.getLogger(__name__)

#: Bands of the change COG.
CHANGE_BANDS = ("first_period", "periods_detected")
#: Rows read per strip.
STRIP_ROWS = 512


def write_change_raster(
    series: TimeSeries,
    target: Path,
    threshold: float,
    classes: Sequence[str] | None,
    params: ChangeParams,
) -> Path:
    """Write the change COG of one place.

    Args:
        series: the place's maps, earliest first.
        target: the COG to write (``<place>.change.tif``).
        threshold: the detection threshold (``detect.threshold``).
        classes: the detection classes (None: every class but background / not_mine).
        params: the temporal consistency rule.

    Returns:
        ``target``.
    """
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(rasterio.open(series.maps[0].prob))
        sources = [first] + [stack.enter_context(_on_grid(m.prob, first)) for m in series.maps[1:]]
        bands = [
            [i + 1 for i in detection_band_indexes(probability_classes(src), classes, str(m.prob))]
            for src, m in zip(sources, series.maps, strict=True)
        ]
        stage = target.with_name(f".{target.name}.stage-{os.getpid()}.tif")
        profile = {
            "driver": "GTiff",
            "height": first.height,
            "width": first.width,
            "count": len(CHANGE_BANDS),
            "dtype": "uint8",
            "crs": first.crs,
            "transform": first.transform,
            "nodata": None,
        }
        try:
            with rasterio.open(stage, "w", **profile) as out:
                for band, name in enumerate(CHANGE_BANDS, start=1):
                    out.set_band_description(band, name)
                out.update_tags(
                    periods=",".join(series.labels),
                    **{f"period_{k}": label for k, label in enumerate(series.labels, start=1)},
                )
                for row in range(0, first.height, STRIP_ROWS):
                    window = Window(0, row, first.width, min(STRIP_ROWS, first.height - row))
                    out.write(_strip(sources, bands, window, threshold, params), window=window)
            with atomic_path(target) as tmp:
                rasterio.shutil.copy(stage, tmp, driver="COG", COMPRESS="DEFLATE", OVERVIEWS="NONE")
        finally:
            stage.unlink(missing_ok=True)
    return target


def _on_grid(path: Path, first: rasterio.DatasetReader) -> rasterio.DatasetReader | WarpedVRT:
    """``path`` opened on the grid of ``first`` (resampled, with a warning, when it differs)."""
    src = rasterio.open(path)
    if (src.crs, src.transform, src.width, src.height) == (
        first.crs,
        first.transform,
        first.width,
        first.height,
    ):
        return src
    log.warning(
        "%s: grid differs from %s (CRS, transform or size); resampled onto it (nearest) for the change map",
        path,
        first.name,
    )
    return WarpedVRT(
        src,
        crs=first.crs,
        transform=first.transform,
        width=first.width,
        height=first.height,
        resampling=Resampling.nearest,
    )


def _strip(
    sources: Sequence[rasterio.DatasetReader | WarpedVRT],
    bands: Sequence[list[int]],
    window: Window,
    threshold: float,
    params: ChangeParams,
) -> np.ndarray:
    """(2, rows, cols) uint8: first period counted (1-based, 0 never) and periods counted."""
    seen = np.stack(
        [
            np.nan_to_num(read_probabilities(src, window)[np.array(wanted) - 1], nan=0.0).max(axis=0)
            >= threshold
            for src, wanted in zip(sources, bands, strict=True)
        ],
        axis=-1,
    )
    counted = counted_periods(seen, params)
    ever = counted.any(axis=-1)
    first = np.where(ever, counted.argmax(axis=-1) + 1, 0)
    return np.stack([first, counted.sum(axis=-1)]).astype(np.uint8)
