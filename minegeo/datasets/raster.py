"""Reading Earth Engine GeoTIFF exports: band names, band subsets, reflectance, nodata.

Every reader in minegeo goes through these helpers, so a corrupt file, a missing band or
a nodata value is handled the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.io import DatasetReader
from rasterio.windows import Window

from minegeo import SENTINEL2_BANDS, SENTINEL2_L1C_BANDS
from minegeo.errors import MinegeoInputError, existing_file
from minegeo.geo import metres_per_degree


def open_raster(path: str | Path, what: str = "GeoTIFF") -> DatasetReader:
    """Open a raster, turning GDAL's errors into one clear line naming the file.

    Args:
        path: the raster file.
        what: what the file is, for the message (``"GeoTIFF mask"``).

    Returns:
        the open rasterio dataset (the caller closes it).

    Raises:
        MinegeoInputError: if the file is missing or not a readable raster.
    """
    path = existing_file(path)
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as error:
        raise MinegeoInputError(f"{path}: not a readable {what} ({_first_line(error)})") from error


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


@dataclass(frozen=True)
class FileBands:
    """A raster's band names and where it holds the bands a reader wants."""

    #: the file's band names: its band descriptions, or the names assumed from its count
    names: tuple[str, ...]
    #: 1-based band indexes of the wanted bands, in the wanted order
    indexes: list[int]
    #: whether ``names`` are the file's own descriptions (False: assumed, so a caller may warn)
    described: bool


def match_bands(
    src: DatasetReader,
    wanted: Sequence[str] | None = None,
    assumed: Sequence[str] = SENTINEL2_BANDS,
    needed_by: str | None = None,
) -> FileBands:
    """Find the bands a reader wants in a raster, or refuse the file in one line.

    This is the one band check of minegeo: training data, predict's scenes and the
    ore-type stage all go through it, so a file is read, and refused, the same way
    everywhere. Earth Engine writes band descriptions (``B2``, ``B3``, ``B4`` in the
    real patches); a file without them is read as holding, in order, the first of
    ``assumed``, the 12 bands Earth Engine exports (B1..B12) and the 13 L1C bands
    (with B8A) that has as many bands as the file.

    Args:
        src: an open raster.
        wanted: band names to find, in this order (default: all of the file's bands).
        assumed: band names taken first for a file without band descriptions.
        needed_by: who needs the bands, for the error line (e.g. ``"the checkpoint"``).

    Returns:
        the file's band names, the wanted bands' indexes and whether the names are the
        file's own.

    Raises:
        MinegeoInputError: naming the file, the bands expected and the bands found, for
            bands without names of an unexpected count or a missing band.
    """
    descriptions = src.descriptions
    described = bool(descriptions) and all(descriptions)
    if described:
        names = tuple(str(name) for name in descriptions)
    else:
        candidates = list(dict.fromkeys(tuple(c) for c in (assumed, SENTINEL2_BANDS, SENTINEL2_L1C_BANDS)))
        fits = [candidate for candidate in candidates if len(candidate) == src.count]
        if not fits:
            counts = ", ".join(_band_list(candidate) for candidate in candidates)
            raise MinegeoInputError(
                f"{src.name}: {src.count} bands without names; expected band descriptions or one of {counts}"
            )
        names = fits[0]
    wanted = tuple(wanted) if wanted else names
    missing = [band for band in wanted if band not in names]
    if missing:
        needed = f" that {needed_by} needs" if needed_by else ""
        raise MinegeoInputError(
            f"{src.name}: missing band(s) {','.join(missing)}{needed}; expected {_band_list(wanted)}, "
            f"the file has {_band_list(names)}"
        )
    return FileBands(names, [names.index(band) + 1 for band in wanted], described)


def _band_list(names: Sequence[str]) -> str:
    """``12 bands (B1,...,B12)``: a count and the names, for error lines."""
    return f"{len(names)} band{'s' if len(names) != 1 else ''} ({','.join(names)})"


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
    indexes = match_bands(src, bands, default_bands).indexes
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
