"""Reading the windows of predict: one strip per row of windows.

A plan's windows come in raster order and the windows of one row share their rows, so
the reader decodes a *strip* (every band, the rows of one row of windows, the scene's
width) with one GDAL call, which decodes the strip's tiles on all cores
(``GDAL_NUM_THREADS``), and cuts the row's windows out of it. The rows the next strip
shares with this one (tile overlap, the FCN's halo, the rest of a file block already
decoded) are carried over, so every block of the file is decoded once. Memory is one
strip (a window and a block of rows across the width, in the file's own data type:
uint16 digital numbers stay uint16 until the batch is made); a scene too wide for
``strip_mb`` is read in column segments, so memory grows with the width by the shared
rows only.

The strip is pixel-interleaved, as Earth Engine's GeoTIFFs store their pixels and as
the model runs (channels-last): GDAL writes it so while decoding, and each window is a
plain copy of rows into the batch, with nodata and the outside of the scene as NaN.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.windows import Window
from torch.utils.data import Dataset, Sampler

from minegeo.bundle import ModelGeometry
from minegeo.inference.tiling import Chunk, Plan


@dataclass
class SceneJob:
    """One scene to predict and everything needed to read it and write its output."""

    stem: str
    path: Path
    target: Path
    #: 1-based band indexes, in the checkpoint's band order
    indexes: list[int]
    plan: Plan
    height: int
    width: int
    transform: Affine
    crs: Any
    nodata: float | None
    #: output cell size in input pixels, and where cell 0 starts (geometry offset - stride / 2)
    stride: int = 1
    shift: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)
    #: stored value -> reflectance, per band: ``value * scale + offset`` (from the file's
    #: scale tags; empty: the training data's ``reflectance_scale``)
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()

    @property
    def output_transform(self) -> Affine:
        """The output grid: cells of ``stride`` pixels, cell 0 centred at the geometry's offset."""
        return self.transform * Affine.translation(self.shift, self.shift) * Affine.scale(self.stride)


class StripReader:
    """The windows of one scene's plan, cut from strips decoded once.

    A strip spans the scene's width, unless that would take more than ``strip_mb``: then
    each row of windows is read in column segments (runs of whole windows), and each
    segment keeps the rows the next row of windows shares until the reader comes back to
    it, so memory is one segment's strip plus the shared rows across the width.

    Args:
        job: the scene and its plan.
        strip_mb: most memory of one strip, MB (at least one window wide).
    """

    def __init__(self, job: SceneJob, strip_mb: float = 512) -> None:
        self.job = job
        self.src = rasterio.open(job.path)
        self.block_rows = int(self.src.block_shapes[0][0])
        rows, dtype = job.plan.read_size + self.block_rows, np.dtype(self.src.dtypes[0])
        most = int(strip_mb * 2**20 / (rows * len(job.indexes) * dtype.itemsize))
        self.segments = column_segments(job.plan, job.width, most)
        width = max(right - left for left, right in self.segments.values())
        self.strip = np.empty((rows, width, len(job.indexes)), dtype=dtype)
        self.row_tops = sorted({max(chunk.row, 0) for chunk in job.plan.chunks})
        #: the segment in ``strip`` (scene columns [left, right)) and its scene rows [top, bottom)
        self.columns: tuple[int, int] | None = None
        self.top = self.bottom = 0
        #: the shared rows of the segments not in ``strip``: their first row and the rows
        self.carried: dict[tuple[int, int], tuple[int, np.ndarray]] = {}

    def read(self, chunk: Chunk, out: np.ndarray) -> None:
        """Copy ``chunk``'s window into ``out`` (size, size, bands); nodata and the outside are NaN."""
        size, job = self.job.plan.read_size, self.job
        top, bottom = max(chunk.row, 0), min(chunk.row + size, job.height)
        left, right = max(chunk.col, 0), min(chunk.col + size, job.width)
        if (top, left) != (chunk.row, chunk.col) or (bottom, right) != (chunk.row + size, chunk.col + size):
            out[...] = np.nan
        if bottom <= top or right <= left:
            return
        columns = self.segments.get(chunk.col, (left, right))  # a window off the plan: its own columns
        if columns != self.columns:
            self._switch(columns)
        self._hold(top, bottom)
        first = columns[0]
        window = self.strip[top - self.top : bottom - self.top, left - first : right - first]
        out[top - chunk.row : bottom - chunk.row, left - chunk.col : right - chunk.col] = window

    def close(self) -> None:
        """Close the file."""
        self.src.close()

    def _switch(self, columns: tuple[int, int]) -> None:
        """Put the current segment's shared rows aside and bring back those of ``columns``."""
        if self.columns is not None:
            following = bisect.bisect_right(self.row_tops, self.top)  # the segment's next row of windows
            if following < len(self.row_tops) and (start := self.row_tops[following]) < self.bottom:
                width = self.columns[1] - self.columns[0]
                kept = self.strip[start - self.top : self.bottom - self.top, :width].copy()
                self.carried[self.columns] = (start, kept)
        self.columns = columns
        self.top, rows = self.carried.pop(columns, (0, self.strip[:0]))
        self.strip[: len(rows), : rows.shape[1]] = rows
        self.bottom = self.top + len(rows)

    def _hold(self, top: int, bottom: int) -> None:
        """Make ``strip`` hold scene rows [top, bottom): keep the rows already there, decode the rest."""
        assert self.columns is not None
        left, right = self.columns
        strip = self.strip[:, : right - left]
        if not self.top <= top <= self.bottom:  # out of order (a worker's share): start afresh
            self.top = self.bottom = top
        kept = self.bottom - top
        if kept > 0 and top > self.top:
            strip[:kept] = strip[top - self.top : self.bottom - self.top]
        self.top = top
        if bottom > self.bottom:
            # whole file blocks: the next strip finds the rest of the last block here
            end = min(math.ceil(bottom / self.block_rows) * self.block_rows, self.job.height)
            end = min(end, top + len(strip))
            rows = Window(left, self.bottom, right - left, end - self.bottom)
            target = strip[self.bottom - top : end - top].transpose(2, 0, 1)  # GDAL fills it interleaved
            self.src.read(self.job.indexes, window=rows, out=target)
            self.bottom = end


def column_segments(plan: Plan, width: int, most: int) -> dict[int, tuple[int, int]]:
    """The scene columns [left, right) read with each window column: runs of whole windows.

    A run is as wide as ``most`` columns allows, and never narrower than one window.
    """
    size = plan.read_size
    runs: list[list[int]] = []
    for col in sorted({chunk.col for chunk in plan.chunks}):
        if not runs or min(col + size, width) - max(runs[-1][0], 0) > most:
            runs.append([])
        runs[-1].append(col)
    return {col: (max(run[0], 0), min(run[-1] + size, width)) for run in runs for col in run}


class WindowDataset(Dataset[dict[str, Any]]):
    """Every chunk of every scene of one rank, read as raw values (NaN = nodata).

    Indexing by a list of indexes (what a ``DataLoader`` does through ``__getitems__``)
    returns one batch of one scene: ``image`` (B, bands, size, size, stored
    channels-last), ``valid`` per output cell, the ``scene`` and ``chunk`` of each window,
    the read ``error`` of each, and the scene's ``scale`` and ``offset`` to reflectance.

    Args:
        jobs: the rank's scenes.
        geometry: the model's geometry (to reduce validity to output cells).
        strip_mb: most memory of one strip (see :class:`StripReader`).
    """

    def __init__(self, jobs: Sequence[SceneJob], geometry: ModelGeometry, strip_mb: float = 512) -> None:
        self.jobs, self.geometry, self.strip_mb = list(jobs), geometry, strip_mb
        self.starts = list(np.cumsum([0] + [len(job.plan.chunks) for job in jobs])[:-1])
        self.total = sum(len(job.plan.chunks) for job in jobs)
        self._reader: StripReader | None = None

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> dict[str, Any]:
        batch = self.__getitems__([index])
        return {key: value[0] if key not in ("scale", "offset") else value for key, value in batch.items()}

    def __getitems__(self, indexes: Sequence[int]) -> dict[str, Any]:
        """The batch of ``indexes`` (windows of one scene)."""
        scene = self._scene(indexes[0])
        job = self.jobs[scene]
        size = job.plan.read_size
        pixels = np.empty((len(indexes), size, size, len(job.indexes)), np.float32)
        error = self._read(scene, [index - self.starts[scene] for index in indexes], pixels)
        if job.nodata is not None and not math.isnan(job.nodata):
            pixels[pixels == np.float32(job.nodata)] = np.nan
        image = torch.from_numpy(pixels)
        # a NaN in any band makes the pixel's sum NaN. Torch sums on the model's own threads:
        # a numpy matrix product would leave OpenBLAS's threads spinning through the forward
        finite = image.sum(dim=3).isfinite().numpy()
        return {
            "image": image.permute(0, 3, 1, 2),
            "valid": torch.from_numpy(np.stack([output_valid(f, job.plan, self.geometry) for f in finite])),
            "scene": torch.full((len(indexes),), scene),
            "chunk": torch.tensor([index - self.starts[scene] for index in indexes]),
            "error": [error] * len(indexes),
            "scale": torch.tensor(job.scale, dtype=torch.float64),  # empty: the bundle's
            "offset": torch.tensor(job.offset, dtype=torch.float64),
        }

    def batches(self, batch_size: int) -> list[list[int]]:
        """Each scene's windows in batches of ``batch_size``; scenes never share a batch.

        A convolution's sums can round differently with the batch's size, so a batch
        spanning two scenes would make a scene's bytes depend on which other scenes the
        run holds, and a resumed run (which predicts only some) would not repeat an
        uninterrupted one. A run of many scenes smaller than a batch pays for it with
        partly filled batches.
        """
        return [
            list(range(first, min(first + batch_size, start + len(job.plan.chunks))))
            for start, job in zip(self.starts, self.jobs, strict=True)
            for first in range(start, start + len(job.plan.chunks), batch_size)
        ]

    def close(self) -> None:
        """Close the open scene."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled into worker processes without an open file."""
        return {**self.__dict__, "_reader": None}

    def _read(self, scene: int, numbers: Sequence[int], pixels: np.ndarray) -> str:
        """Read chunks ``numbers`` of ``scene`` into ``pixels``; returns the read error, if any."""
        try:
            reader = self._scene_reader(scene)
            for number, out in zip(numbers, pixels, strict=True):
                reader.read(self.jobs[scene].plan.chunks[number], out)
        except rasterio.errors.RasterioError as error:
            pixels[...] = np.nan
            self.close()
            return str(error).splitlines()[0]
        return ""

    def _scene_reader(self, scene: int) -> StripReader:
        if self._reader is None or self._reader.job is not self.jobs[scene]:
            self.close()
            self._reader = StripReader(self.jobs[scene], self.strip_mb)
        return self._reader

    def _scene(self, index: int) -> int:
        return bisect.bisect_right(self.starts, index) - 1


# FixedBatches returns every window; Lightning warns about any custom batch sampler in predict
warnings.filterwarnings("ignore", message="You are using a custom batch sampler `FixedBatches`")


class FixedBatches(Sampler[list[int]]):
    """A batch sampler over a fixed list of batches (Lightning wraps batch samplers, not lists)."""

    def __init__(self, batches: list[list[int]]) -> None:
        self.batches = batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def already_batched(batch: Any) -> Any:
    """The ``DataLoader`` collate function for a dataset whose ``__getitems__`` returns a batch."""
    return batch


def output_valid(valid: np.ndarray, plan: Plan, geometry: ModelGeometry) -> np.ndarray:
    """Validity per output cell of a chunk: a cell is data when any pixel of its footprint is.

    A per-pixel model's mask is the input's; a strided model's cell covers ``stride`` x
    ``stride`` input pixels centred on the cell.
    """
    if not plan.blended and geometry.output_stride > 1:
        stride, cells = geometry.output_stride, plan.cells
        start = round(geometry.offset + stride * plan.crop - stride / 2)
        block = valid[start : start + stride * cells, start : start + stride * cells]
        return np.asarray(block.reshape(cells, stride, cells, stride).any(axis=(1, 3)))
    return valid
