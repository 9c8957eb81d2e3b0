"""Tiny image/mask patch pairs in the tailings_seg layout (``img/img_N.tif``, ``mask/mask_N.tif``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine


def write_pairs(root: Path, count: int = 10, size: int = 64) -> Path:
    """``count`` image/mask pairs at places 5 km apart, each with a bright square of class 1."""
    for folder in ("img", "mask"):
        (root / folder).mkdir(parents=True)
    for n in range(count):
        transform = Affine(10, 0, 500_000 + 5_000 * n, 0, -10, 7_000_000)
        profile = {
            "driver": "GTiff",
            "height": size,
            "width": size,
            "crs": "EPSG:32723",
            "transform": transform,
        }
        image = np.random.default_rng(n).random((3, size, size), dtype=np.float32) * 0.1
        mask = np.zeros((1, size, size), dtype=np.uint8)
        mask[:, 10:30, 10:30] = 1
        image[:, 10:30, 10:30] += 0.3  # the "pond" is brighter, so a model can learn it
        with rasterio.open(root / "img" / f"img_{n}.tif", "w", count=3, dtype="float32", **profile) as dst:
            dst.write(image)
            dst.descriptions = ("B4", "B3", "B2")
        with rasterio.open(root / "mask" / f"mask_{n}.tif", "w", count=1, dtype="uint8", **profile) as dst:
            dst.write(mask)
    return root
