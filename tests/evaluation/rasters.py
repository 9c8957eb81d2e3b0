"""Tiny probability maps and masks written with rasterio, for the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.transform import from_origin

#: a UTM grid of 10 m pixels (south of the equator, as the tailings patches)
UTM = "EPSG:32722"
ORIGIN = from_origin(500_000, 8_000_000, 10, 10)


def write_map(
    path: Path,
    probs: np.ndarray,
    classes: Sequence[str] = ("background", "tailings_dam"),
    dtype: str = "float32",
    crs: str = UTM,
    transform: Affine = ORIGIN,
) -> Path:
    """A ``.prob.tif`` as minegeo.predict writes it: (classes, rows, cols) p, NaN for nodata.

    uint8 maps store round(p * 254), nodata 255 and a scale tag of 1/254.
    """
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim == 2:
        probs = np.stack([1 - probs, probs])
    nodata = float("nan") if dtype == "float32" else 255
    values = probs if dtype == "float32" else np.where(np.isnan(probs), 255, np.rint(probs * 254))
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "count": len(classes), "dtype": dtype, "nodata": nodata}
    shape = {"height": probs.shape[1], "width": probs.shape[2], "crs": crs, "transform": transform}
    with rasterio.open(path, "w", **profile, **shape) as dst:
        dst.write(values.astype(dtype))
        for band, name in enumerate(classes, start=1):
            dst.set_band_description(band, name)
        if dtype == "uint8":
            dst.scales = [1 / 254] * len(classes)
            dst.offsets = [0.0] * len(classes)
    return path


def write_mask(
    path: Path,
    mask: np.ndarray,
    crs: str = UTM,
    transform: Affine = ORIGIN,
    nodata: int | None = None,
) -> Path:
    """A uint8 single-band mask (as tailings_seg's ``mask/mask_N.tif``)."""
    mask = np.asarray(mask, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "count": 1, "dtype": "uint8", "nodata": nodata, "crs": crs}
    with rasterio.open(
        path, "w", height=mask.shape[0], width=mask.shape[1], transform=transform, **profile
    ) as dst:
        dst.write(mask, 1)
    return path


def square(size: int, rows: slice, cols: slice, value: float = 1.0) -> np.ndarray:
    """A (size, size) float32 array of zeros with ``value`` in one rectangle."""
    array = np.zeros((size, size), dtype=np.float32)
    array[rows, cols] = value
    return array
