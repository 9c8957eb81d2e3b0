"""Probability rasters: windowed writes to a staging GeoTIFF, then one Cloud-Optimized GeoTIFF.

The staging file is an uncompressed striped GeoTIFF, so full-width bands of rows go
straight to disk and nothing of the scene stays in memory. When the scene is done GDAL's
COG driver copies it (tiles, compression, overviews) to a temporary name that is renamed
to ``<stem>.prob.tif`` only when complete.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path

#: uint8 outputs store round(p * 254); 255 is nodata
UINT8_SCALE = 254
UINT8_NODATA = 255


class ProbabilityWriter:
    """Writes one scene's class probabilities window by window, then finishes it as a COG.

    Args:
        target: the final ``<stem>.prob.tif``.
        height: output rows.
        width: output columns.
        crs: the input's CRS.
        transform: the output grid's transform.
        class_names: one band per class, named after it.
        dtype: ``"float32"`` (nodata NaN) or ``"uint8"`` (0..254, nodata 255, scale tags).
        compress: COG compression (``deflate``, ``lzw``, ``zstd``, ``none``).
        tags: dataset tags (checkpoint hash, bands, classes, version, date...).
        level: DEFLATE / ZSTD level (``None``: GDAL's default); a low level writes faster
            and a little larger (figures: experiments/README.md, "Predict throughput").
    """

    def __init__(
        self,
        target: Path,
        height: int,
        width: int,
        crs: CRS | None,
        transform: Affine,
        class_names: Sequence[str],
        dtype: str = "float32",
        compress: str = "deflate",
        tags: Mapping[str, Any] | None = None,
        level: int | None = 1,
    ) -> None:
        if dtype not in ("float32", "uint8"):
            raise MinegeoInputError(f"dtype={dtype}: expected float32 or uint8")
        self.target, self.dtype, self.compress, self.level = Path(target), dtype, compress, level
        self.stage = self.target.with_name(f".{self.target.name}.stage-{os.getpid()}.tif")
        nodata = float("nan") if dtype == "float32" else UINT8_NODATA
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.dataset = rasterio.open(
            self.stage,
            "w",
            driver="GTiff",
            height=height,
            width=width,
            count=len(class_names),
            dtype=dtype,
            crs=crs,
            transform=transform,
            nodata=nodata,
            blockysize=min(16, height),
            BIGTIFF="IF_SAFER",
            # one gray band per class: three uint8 bands would otherwise be declared RGB
            PHOTOMETRIC="MINISBLACK",
        )
        for band, name in enumerate(class_names, start=1):
            self.dataset.set_band_description(band, name)
        if dtype == "uint8":
            self.dataset.scales = [1 / UINT8_SCALE] * len(class_names)
            self.dataset.offsets = [0.0] * len(class_names)
        self.dataset.update_tags(**{key: str(value) for key, value in (tags or {}).items()})

    def write(self, row: int, col: int, probs: np.ndarray, valid: np.ndarray) -> None:
        """Write probabilities ``(classes, rows, cols)`` at cell (row, col); nodata where not ``valid``."""
        if self.dtype == "uint8":
            scaled = np.multiply(probs, UINT8_SCALE, dtype=np.float32)
            np.rint(np.clip(scaled, 0.0, UINT8_SCALE, out=scaled), out=scaled)
            values = scaled.astype(np.uint8)
            if not valid.all():
                values[:, ~valid] = UINT8_NODATA
        else:
            values = np.where(valid[None], probs, np.float32(np.nan)).astype(np.float32, copy=False)
        self.dataset.write(values, window=Window(col, row, values.shape[2], values.shape[1]))

    def finish(self) -> Path:
        """Close the staging file and copy it to the final COG; returns the final path."""
        self.dataset.close()
        options: dict[str, Any] = {
            "COMPRESS": self.compress.upper(),
            "BLOCKSIZE": 512,
            "OVERVIEWS": "AUTO",
            "RESAMPLING": "AVERAGE",
            "BIGTIFF": "IF_SAFER",
            "NUM_THREADS": "ALL_CPUS",
        }
        if self.compress.lower() in ("deflate", "lzw", "zstd"):
            options["PREDICTOR"] = "YES"
        if self.compress.lower() in ("deflate", "zstd") and self.level is not None:
            options["LEVEL"] = self.level
        try:
            with atomic_path(self.target) as tmp:
                rasterio.shutil.copy(self.stage, tmp, driver="COG", **options)
        finally:
            self.stage.unlink(missing_ok=True)
        return self.target

    def abort(self) -> None:
        """Drop the staging file (the scene failed)."""
        self.dataset.close()
        self.stage.unlink(missing_ok=True)
