"""A raster grid (CRS, transform, shape), and the window of one raster that covers another."""

from __future__ import annotations

import math
from dataclasses import dataclass

import rasterio
import rasterio.transform
import rasterio.windows
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds
from rasterio.windows import Window

#: source pixels kept around a window beyond the kernel's reach, so a window resampled
#: alone gives the values the whole raster would
_MARGIN = 1


@dataclass(frozen=True)
class Grid:
    """Where a raster's pixels lie."""

    #: the grid's CRS (None for a raster without one)
    crs: CRS | None
    #: pixel -> CRS coordinates
    transform: Affine
    #: rows
    height: int
    #: columns
    width: int

    @classmethod
    def of(cls, dataset: DatasetReader) -> Grid:
        """The grid of an open raster."""
        return cls(dataset.crs, dataset.transform, dataset.height, dataset.width)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        left, bottom, right, top = rasterio.transform.array_bounds(self.height, self.width, self.transform)
        return left, bottom, right, top


def covering_window(source: Grid, target: Grid) -> Window | None:
    """The window of ``source`` that covers ``target``, with room for a bilinear kernel.

    Reading only this window keeps a large map's memory to the part a small mask needs.

    Args:
        source: the grid read from (a probability map).
        target: the grid resampled onto (a reference mask).

    Returns:
        a window inside ``source``, or None when the grids do not overlap.
    """
    bounds = target.bounds
    if source.crs is not None and target.crs is not None and source.crs != target.crs:
        bounds = transform_bounds(target.crs, source.crs, *bounds, densify_pts=21)
    window = rasterio.windows.from_bounds(*bounds, transform=source.transform)
    # a coarser target widens GDAL's kernel by the ratio of the pixel sizes
    ratio = max(1.0, window.width / target.width, window.height / target.height)
    pad = 2 * math.ceil(ratio) + _MARGIN
    col, row = math.floor(window.col_off) - pad, math.floor(window.row_off) - pad
    stop_col = math.ceil(window.col_off + window.width) + pad
    stop_row = math.ceil(window.row_off + window.height) + pad
    col, row = max(col, 0), max(row, 0)
    stop_col, stop_row = min(stop_col, source.width), min(stop_row, source.height)
    if stop_col <= col or stop_row <= row or not _bounds_meet(source, bounds):
        return None
    return Window(col, row, stop_col - col, stop_row - row)


def _bounds_meet(source: Grid, bounds: tuple[float, float, float, float]) -> bool:
    """Whether ``bounds`` (in the source's CRS) overlap the source's extent (not just its margin)."""
    left, bottom, right, top = source.bounds
    return bounds[0] < right and bounds[2] > left and bounds[1] < top and bounds[3] > bottom


def window_grid(source: Grid, window: Window) -> Grid:
    """The grid of a window of ``source``."""
    transform = rasterio.windows.transform(window, source.transform)
    return Grid(source.crs, transform, int(window.height), int(window.width))
