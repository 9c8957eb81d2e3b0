"""Reading Earth Engine GeoTIFF exports: band names, band subsets, reflectance, nodata.

Every reader in minegeo goes through these helpers, so a corrupt file, a missing band or
a nodata value is handled the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.io import DatasetReader
from rasterio.windows import Window

from minegeo import SENTINEL2_BANDS, SENTINEL2_L1C_BANDS
from minegeo.errors import MinegeoInputError
from minegeo.geo import metres_per_degree


def open_raster(path: str | Path) -> DatasetReader:
    """Open a raster, turning GDAL's errors into one clear line naming the file.

    Args:
        path: the raster file.

    Returns:
        the open rasterio dataset (the caller closes it).

    Raises:
        MinegeoInputError: if the file is missing or not a readable raster.
    """
    path = Path(path)
    if not path.exists():
        raise MinegeoInputError(f"{path}: file not found")
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as error:
        raise MinegeoInputError(f"{path}: not a readable GeoTIFF ({_first_line(error)})") from error


def is_readable(path: str | Path) -> bool:
    """Whether every block of the file decodes (catches truncated exports).

    Reads the first and last block of each band, where truncation shows, rather than the
    whole file.
    """
    try:
        with rasterio.open(path) as src:
            last_row, last_col = max(src.height - 1, 0), max(src.width - 1, 0)
            src.read(window=Window(0, 0, 1, 1))
            src.read(window=Window(last_col, last_row, 1, 1))
    except rasterio.errors.RasterioError:
        return False
    return True


def band_names(src: DatasetReader, default: Sequence[str] = SENTINEL2_BANDS) -> tuple[str, ...]:
    """Band names of a raster: its band descriptions, else ``default`` when the count fits.

    Earth Engine writes band descriptions (``B2``, ``B3``, ``B4`` in the real patches);
    files without them are assumed to hold ``default`` in order, or all 13 L1C bands
    (with B8A) when they have 13.

    Raises:
        MinegeoInputError: if the file has no descriptions and a band count other than
            ``len(default)``.
    """
    descriptions = src.descriptions
    if descriptions and all(descriptions):
        return tuple(str(name) for name in descriptions)
    for names in (default, SENTINEL2_L1C_BANDS):
        if src.count == len(names):
            return tuple(names)
    raise MinegeoInputError(
        f"{src.name}: {src.count} bands without names; expected {len(default)} bands "
        f"({','.join(default)}) or band descriptions"
    )


def band_indexes(path: str | Path, available: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """1-based band indexes of ``wanted`` among ``available``.

    Raises:
        MinegeoInputError: naming the file and every missing band.
    """
    missing = [band for band in wanted if band not in available]
    if missing:
        raise MinegeoInputError(
            f"{path}: missing band(s) {','.join(missing)}; the file has {','.join(available)}"
        )
    return [list(available).index(band) + 1 for band in wanted]


def read_reflectance(
    src: DatasetReader,
    bands: Sequence[str] | None = None,
    window: Window | None = None,
    reflectance_scale: float = 1.0,
    nodata: float | None = None,
    boundless: bool = False,
    default_bands: Sequence[str] = SENTINEL2_BANDS,
) -> np.ndarray:
    """Read bands as float32 reflectance with NaN wherever a pixel is nodata.

    Args:
        src: an open raster.
        bands: band names to read, in this order (default: all of the file's bands).
        window: the window to read (default: the whole raster).
        reflectance_scale: factor from stored values to reflectance (1e-4 for uint16 DN).
        nodata: the nodata value (default: the file's own, if any); NaN is always nodata.
        boundless: read outside the raster as nodata instead of failing.
        default_bands: band names assumed when the file has no band descriptions.

    Returns:
        array of shape (C, H, W), float32.

    Raises:
        MinegeoInputError: for a missing band or a block that cannot be decoded.
    """
    available = band_names(src, default_bands)
    indexes = band_indexes(src.name, available, bands or available)
    nodata = src.nodata if nodata is None else nodata
    try:
        data = src.read(indexes, window=window, boundless=boundless, masked=boundless)
    except rasterio.errors.RasterioError as error:
        raise MinegeoInputError(f"{src.name}: cannot decode pixels ({_first_line(error)})") from error
    invalid = np.ma.getmaskarray(data) if boundless else np.zeros(data.shape, dtype=bool)
    values = np.ma.getdata(data).astype(np.float32, copy=False)
    if nodata is not None and not np.isnan(nodata):
        invalid |= values == np.float32(nodata)
    if reflectance_scale != 1.0:
        values = values * np.float32(reflectance_scale)
    if invalid.any():
        values = np.where(invalid, np.float32(np.nan), values)
    return values


def pixel_size_m(src: DatasetReader) -> float:
    """Ground size of a pixel in metres (x direction); degrees are converted at the centre latitude."""
    xres = abs(src.transform.a)
    if src.crs is not None and src.crs.is_geographic:
        latitude = (src.bounds.bottom + src.bounds.top) / 2
        return float(xres * metres_per_degree(latitude)[0])
    return float(xres)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
