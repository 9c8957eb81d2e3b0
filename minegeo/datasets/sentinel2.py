"""Sentinel-2 composites as Earth Engine exports them, as a TorchGeo raster dataset."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio.merge
import torch
from torch import Tensor
from torchgeo.datasets import RasterDataset
from torchgeo.datasets.utils import GeoSlice

from minegeo import SENTINEL2_BANDS
from minegeo.datasets.raster import is_readable, match_bands, open_raster
from minegeo.datasets.timeindex import interval_of, time_index
from minegeo.errors import MinegeoInputError
from minegeo.periods import period_of_stem


class Sentinel2Composite(RasterDataset):
    """Cloud-free Sentinel-2 composites exported from Earth Engine (patches or scan tiles).

    One multi-band GeoTIFF per patch or tile. Earth Engine splits large exports into
    ``name-RRRRRRRRRR-CCCCCCCCCC.tif`` tiles; they share a grid, so TorchGeo's merge
    mosaics them seamlessly. Band names come from the files' band descriptions, else from
    ``default_bands``. Samples hold reflectance (``raw * reflectance_scale``) with NaN
    wherever any source pixel is nodata, so nodata never reaches a model as a number.
    Files named ``<place>.<period>.tif`` (a time series) are indexed at their period's
    dates, so a sample never mosaics two periods of one place.

    Example::

        scenes = Sentinel2Composite("world/scenes", bands=["B4", "B3", "B2"])
    """

    #: every GeoTIFF below the root
    filename_glob = "*.tif"
    #: a patch or scene stem, optionally followed by Earth Engine's tile offsets
    filename_regex = r"^(?P<name>.+?)(-(?P<row>\d{10})-(?P<col>\d{10}))?\.tiff?$"
    #: Earth Engine's default band order for Sentinel-2 L1C
    all_bands: tuple[str, ...] = SENTINEL2_BANDS
    #: true-colour bands for plots
    rgb_bands: tuple[str, ...] = ("B4", "B3", "B2")
    #: composites are float reflectance; masks come from a label dataset
    is_image = True

    def __init__(
        self,
        paths: str | Path | Iterable[str | Path] = "data",
        crs: Any = None,
        res: float | tuple[float, float] | None = None,
        bands: Sequence[str] | None = None,
        default_bands: Sequence[str] = SENTINEL2_BANDS,
        reflectance_scale: float = 1.0,
        nodata: float | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        cache: bool = True,
    ) -> None:
        """Index the composites under ``paths``.

        Args:
            paths: directories to search, or files.
            crs: CRS to warp to (default: the first file's).
            res: resolution in CRS units (default: the first file's).
            bands: band names to return, in order (default: all of the files' bands).
            default_bands: names for files without band descriptions.
            reflectance_scale: factor from stored values to reflectance: 1.0 for Earth
                Engine float32 (already divided by 10000), 1e-4 for raw uint16 DN.
            nodata: a value that marks missing pixels besides NaN and the files' own
                declared nodata (e.g. 0 for DN exports without a declaration).
            transforms: applied to each sample.
            cache: keep file handles open between samples.

        Raises:
            MinegeoInputError: for no files, an unreadable file, or a file lacking a band.
        """
        self.paths = paths if isinstance(paths, str | Path) else [Path(p) for p in paths]
        self.reflectance_scale = reflectance_scale
        self.nodata = nodata
        self.all_bands = self._check_files(default_bands, bands)
        super().__init__(self.paths, crs, res, tuple(bands or self.all_bands), transforms, cache)
        self.index.index = time_index(self._period_dates(path) for path in self.index["filepath"])

    def _period_dates(self, path: str) -> pd.Interval:
        """The dates of the period in the file's name (``<place>.<period>``), or all time."""
        match = re.match(self.filename_regex, Path(path).name)
        assert match is not None  # TorchGeo indexes only the names its regex matches
        try:
            return interval_of(period_of_stem(match["name"]))
        except MinegeoInputError as error:
            raise MinegeoInputError(f"{path}: file name: {error}") from None

    def _check_files(self, default_bands: Sequence[str], bands: Sequence[str] | None) -> tuple[str, ...]:
        """Fail early, with the file's name, on what TorchGeo would silently skip."""
        files = self.files
        if not files:
            raise MinegeoInputError(f"{self.paths}: no GeoTIFF (*.tif) found")
        names: tuple[str, ...] | None = None
        for path in files:
            with open_raster(path) as src:
                file_bands = match_bands(src, bands, default_bands).names
            if names is not None and file_bands != names:
                raise MinegeoInputError(
                    f"{path}: bands {','.join(file_bands)} differ from {','.join(names)} in {files[0]}"
                )
            if not is_readable(path):
                raise MinegeoInputError(f"{path}: truncated or corrupt GeoTIFF (a block cannot be decoded)")
            names = file_bands
        assert names is not None
        return names

    def __getitem__(self, query: GeoSlice) -> dict[str, Any]:
        """Reflectance for a slice, NaN where no file covers it or a pixel is nodata."""
        sample = super().__getitem__(query)
        image: Tensor = sample["image"]
        if self.nodata is not None:
            image = image.masked_fill(image == self.nodata, float("nan"))
        if self.reflectance_scale != 1.0:
            image = image * self.reflectance_scale
        sample["image"] = image
        return sample

    def _merge_files(
        self, filepaths: Sequence[str], query: GeoSlice, band_indexes: Sequence[int] | None = None
    ) -> Tensor:
        # Merge into float32 with NaN fill, so pixels outside every file (and the files'
        # declared nodata) come back as NaN rather than as zeros that look like data.
        handles = [
            self._cached_load_warp_file(fp) if self.cache else self._load_warp_file(fp) for fp in filepaths
        ]
        x, y, _ = self._disambiguate_slice(query)
        merged, _ = rasterio.merge.merge(
            handles,
            (x.start, y.start, x.stop, y.stop),
            (x.step, y.step),
            indexes=band_indexes,
            resampling=self.resampling,
            nodata=np.nan,
            dtype="float32",
        )
        return torch.from_numpy(merged)
