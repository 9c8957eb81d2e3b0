"""Probability maps as ``minegeo.predict`` writes them, read onto any grid.

A map is ``<stem>.prob.tif``: one band per class, named after it in the band
description. uint8 maps store ``round(p * 254)`` with nodata 255 and a GDAL scale tag
(1/254); float32 maps store p with NaN nodata. Both are read as float32 p with NaN where
there is no value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject

from minegeo.datasets.raster import open_raster
from minegeo.errors import MinegeoInputError
from minegeo.evaluation.grid import Grid, covering_window, window_grid

#: what ``minegeo.predict`` names its maps
MAP_SUFFIX = ".prob.tif"


@dataclass(frozen=True)
class ProbabilityMap:
    """One map's header: where it is, its classes and its grid."""

    #: the ``<stem>.prob.tif`` file
    path: Path
    #: band names, in band order
    classes: tuple[str, ...]
    #: where its pixels lie
    grid: Grid

    @property
    def stem(self) -> str:
        """The scene's name: the file name without ``.prob.tif``."""
        return self.path.name[: -len(MAP_SUFFIX)]

    def require(self, classes: Sequence[str], source: str) -> None:
        """Refuse a map without a band for each of ``classes`` (the classes ``source`` names).

        Raises:
            MinegeoInputError: naming the map, the missing classes and the map's own.
        """
        missing = [name for name in classes if name not in self.classes]
        if missing:
            raise MinegeoInputError(
                f"{self.path}: no band for class {', '.join(missing)} (from {source}); "
                f"the map has {', '.join(self.classes)}"
            )


def find_maps(folder: str | Path) -> list[Path]:
    """The ``*.prob.tif`` maps in a folder, sorted.

    Raises:
        MinegeoInputError: if ``folder`` is not a folder or holds no map.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MinegeoInputError(f"maps={folder}: not a folder; expected a folder of {MAP_SUFFIX} maps")
    # dot-files are predict's half-written maps
    maps = sorted(
        path
        for path in folder.iterdir()
        if path.name.endswith(MAP_SUFFIX) and not path.name.startswith(".") and path.is_file()
    )
    if not maps:
        raise MinegeoInputError(
            f"maps={folder}: no *{MAP_SUFFIX} found; expected the maps minegeo.predict writes"
        )
    return maps


def read_map_header(path: Path) -> ProbabilityMap:
    """A map's classes (band descriptions) and grid.

    Raises:
        MinegeoInputError: for an unreadable file or bands without class names.
    """
    with open_raster(path, "GeoTIFF probability map") as src:
        classes = tuple(src.descriptions)
        grid = Grid.of(src)
    if not all(classes):
        raise MinegeoInputError(
            f"{path}: bands without class names; expected one band per class named after it"
        )
    return ProbabilityMap(path, tuple(str(name) for name in classes), grid)


def read_probabilities(
    prob_map: ProbabilityMap, classes: Sequence[str], grid: Grid | None = None
) -> np.ndarray:
    """The probabilities of ``classes``, on the map's own grid or resampled onto ``grid``.

    Resampling is bilinear and respects nodata: a pixel of ``grid`` is NaN where the map
    has no value near it or does not reach.

    Args:
        prob_map: the map (as from :func:`read_map_header`).
        classes: the classes to read, each a band of the map.
        grid: the grid to resample onto (None: the map's own).

    Returns:
        float32 ``(len(classes), rows, cols)``, p in [0, 1], NaN where there is none.

    Raises:
        MinegeoInputError: for an unreadable file, a uint8 map without a scale tag, or a
            map that does not overlap ``grid``.
    """
    target = prob_map.grid if grid is None or grid == prob_map.grid else grid
    window = None if target is prob_map.grid else covering_window(prob_map.grid, target)
    if target is not prob_map.grid and window is None:
        raise MinegeoInputError(
            f"{prob_map.path}: does not overlap its reference grid (bounds {target.bounds} in "
            f"{target.crs}); expected a map of the same place"
        )
    bands = [prob_map.classes.index(name) + 1 for name in classes]
    with open_raster(prob_map.path, "GeoTIFF probability map") as src:
        try:
            probs = _scaled(prob_map.path, src, bands, src.read(bands, window=window))
        except RasterioError as error:
            raise MinegeoInputError(f"{prob_map.path}: not a readable GeoTIFF ({error})") from error
    if window is None:
        return probs
    return _resample(probs, window_grid(prob_map.grid, window), target)


def _scaled(path: Path, src: rasterio.DatasetReader, bands: list[int], raw: np.ndarray) -> np.ndarray:
    """Raw band values -> float32 p, NaN at nodata, through each band's scale and offset."""
    if np.issubdtype(raw.dtype, np.integer) and any(src.scales[band - 1] == 1.0 for band in bands):
        raise MinegeoInputError(
            f"{path}: {raw.dtype} bands without a scale tag; expected minegeo.predict's maps "
            f"(uint8 with scale 1/254, or float32)"
        )
    probs = np.empty(raw.shape, dtype=np.float32)
    for i, band in enumerate(bands):
        # float64 arithmetic, so 127 * (1/254) is exactly 0.5 and lands on the threshold
        np.add(raw[i] * src.scales[band - 1], src.offsets[band - 1], out=probs[i], casting="same_kind")
    if src.nodata is not None and not np.isnan(src.nodata):
        probs[raw == src.nodata] = np.nan
    return probs


def _resample(probs: np.ndarray, source: Grid, target: Grid) -> np.ndarray:
    """Bilinear resampling of (K, H, W) probabilities with NaN nodata onto ``target``."""
    out = np.full((probs.shape[0], *target.shape), np.nan, dtype=np.float32)
    reproject(
        probs,
        out,
        src_transform=source.transform,
        src_crs=source.crs,
        src_nodata=np.nan,
        dst_transform=target.transform,
        dst_crs=target.crs,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return out
