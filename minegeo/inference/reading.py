"""Reading the windows of predict: whole batches copied straight into one array.

On a CPU, decoding a compressed 12-band GeoTIFF costs nearly as much CPU as the discovery
FCN's channels-last forward pass, so reads waste nothing: every block of a scene is decoded once
(:class:`~minegeo.inference.blocks.SceneBlocks`, on several threads), and the dataset
reads whole batches (``__getitems__``, no per-window copy into a collated batch),
pixel-interleaved as the files store them (the batch is channels-last for the model).
When the model runs on an accelerator, the next batch is read in a background thread
during the forward; on a CPU that thread would take cores from the model (see
``read_ahead`` in ``conf/predict.yaml``). Worker processes (``num_workers > 0``) prefetch
on their own, so they read without the extra thread.
"""

from __future__ import annotations

import bisect
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.windows import Window
from torch.utils.data import Dataset, get_worker_info

from minegeo.bundle import ModelGeometry
from minegeo.inference.blocks import SceneBlocks, UnitArrays
from minegeo.inference.tiling import Plan


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

    @property
    def output_transform(self) -> Affine:
        """The output grid: cells of ``stride`` pixels, cell 0 centred at the geometry's offset."""
        return self.transform * Affine.translation(self.shift, self.shift) * Affine.scale(self.stride)


#: batch buffers kept for reuse (the batch in the model, the one Lightning fetched ahead, read-ahead)
MAX_BATCH_BUFFERS = 4


class WindowDataset(Dataset[dict[str, Any]]):
    """Every chunk of every scene of one rank, read as raw reflectance (NaN = nodata).

    Indexing by a list of indexes (what a ``DataLoader`` does through ``__getitems__``)
    returns one batch: ``image`` (B, bands, size, size, stored channels-last), ``valid``
    per output cell, and the ``scene``, ``chunk`` and read ``error`` of each window.

    Args:
        jobs: the rank's scenes.
        geometry: the model's geometry (to reduce validity to output cells).
        read_ahead: read the next batch in a background thread while this one is used.
        threads: threads decoding blocks (``"ALL_CPUS"`` or a number).
        block_cache_mb: decoded blocks kept for later windows, per scene, MB.
    """

    def __init__(
        self,
        jobs: Sequence[SceneJob],
        geometry: ModelGeometry,
        read_ahead: bool = True,
        threads: str | int = "ALL_CPUS",
        block_cache_mb: float = 1024,
    ) -> None:
        self.jobs, self.geometry = list(jobs), geometry
        self.read_ahead, self.block_cache_mb = read_ahead, block_cache_mb
        self.threads = (os.cpu_count() or 1) if str(threads).upper() == "ALL_CPUS" else int(threads)
        self.starts = list(np.cumsum([0] + [len(job.plan.chunks) for job in jobs])[:-1])
        self.total = sum(len(job.plan.chunks) for job in jobs)
        self._blocks: dict[tuple[int, int], SceneBlocks] = {}
        #: decoded units' arrays, passed from scene to scene (fresh pages cost more than decoding)
        self._unit_arrays: UnitArrays | None = None
        self._ahead: dict[tuple[int, ...], Future[dict[str, Any]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._decoders: ThreadPoolExecutor | None = None
        #: the batches a ``DataLoader`` asks for (:meth:`batches`), which reading ahead follows
        self.layout: list[list[int]] = []
        self._layout_position: dict[tuple[int, ...], int] = {}
        self._batches: list[np.ndarray] = []
        self._batch_lock: threading.Lock | None = None

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> dict[str, Any]:
        batch = self.__getitems__([index])
        return {key: value[0] for key, value in batch.items()}

    def __getitems__(self, indexes: Sequence[int]) -> dict[str, Any]:
        """The batch of ``indexes``; starts reading the batch that follows it."""
        pending = self._ahead.pop(tuple(indexes), None)
        for missed in self._ahead.values():  # a different order than guessed: drop the guesses
            missed.cancel()
        self._ahead.clear()
        batch = pending.result() if pending is not None else self._read_batch(indexes)
        following = self._following(indexes)
        if self.read_ahead and following and get_worker_info() is None:
            self._ahead[following] = self._executor().submit(self._read_batch, following)
        return batch

    def batches(self, batch_size: int) -> list[list[int]]:
        """Each scene's windows in batches of ``batch_size``; scenes never share a batch.

        A convolution's sums can round differently with the batch's size, so a batch
        spanning two scenes would make a scene's bytes depend on which other scenes the
        run holds, and a resumed run (which predicts only some) would not repeat an
        uninterrupted one. A run of many scenes smaller than a batch pays for it with
        partly filled batches. Reading ahead follows this layout.
        """
        self.layout = []
        for scene, job in enumerate(self.jobs):
            start, count = self.starts[scene], len(job.plan.chunks)
            self.layout += [
                list(range(first, min(first + batch_size, start + count)))
                for first in range(start, start + count, batch_size)
            ]
        self._layout_position = {tuple(batch): position for position, batch in enumerate(self.layout)}
        return self.layout

    def close(self) -> None:
        """Stop reading ahead, drop the decoded blocks and close every file handle."""
        for pool in (self._pool, self._decoders):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._decoders = None
        self._ahead.clear()
        for blocks in self._blocks.values():
            blocks.close()
        self._blocks.clear()
        if self._unit_arrays is not None:
            self._unit_arrays.clear()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled into worker processes without handles, threads or pending reads."""
        return {
            **self.__dict__,
            "_blocks": {},
            "_unit_arrays": None,
            "_ahead": {},
            "_pool": None,
            "_decoders": None,
            "_batches": [],
            "_batch_lock": None,
        }

    def _read_batch(self, indexes: Sequence[int]) -> dict[str, Any]:
        size = self.jobs[self._scene(indexes[0])].plan.read_size
        # pixel-interleaved like the files, so the batch is already channels-last for the model
        pixels = self._batch_array((len(indexes), size, size, len(self.jobs[0].indexes)))
        finite = np.empty(pixels.shape[:3], dtype=bool)
        scenes, chunks, valids, errors = [], [], [], []
        for window, window_finite, index in zip(pixels, finite, indexes, strict=True):
            scene = self._scene(index)
            number = index - self.starts[scene]
            errors.append(self._read_into(window, window_finite, scene, number))
            valids.append(output_valid(window_finite, self.jobs[scene].plan, self.geometry))
            scenes.append(scene)
            chunks.append(number)
        return {
            "image": torch.from_numpy(pixels).permute(0, 3, 1, 2),
            "valid": torch.from_numpy(np.stack(valids)),
            "scene": torch.tensor(scenes),
            "chunk": torch.tensor(chunks),
            "error": errors,
        }

    def _read_into(self, window: np.ndarray, finite: np.ndarray, scene: int, number: int) -> str:
        """Read chunk ``number`` of ``scene`` into ``window`` (size, size, bands); returns any error."""
        try:
            self._scene_blocks(scene).read(number, window, finite, self._decoder_pool())
        except rasterio.errors.RasterioError as error:
            window[...], finite[...] = np.nan, False
            return str(error).splitlines()[0]
        return ""

    def _batch_array(self, shape: tuple[int, ...]) -> np.ndarray:
        """A batch buffer: one no batch tensor uses any more, or a new one (fresh pages cost more)."""
        with self._lock():
            for array in self._batches:
                # the pool's list, the loop variable and getrefcount's argument: nothing else holds it
                if array.shape == shape and sys.getrefcount(array) == 3:
                    return array
            array = np.empty(shape, np.float32)
            self._batches = [*self._batches[1 - MAX_BATCH_BUFFERS :], array]
            return array

    def _lock(self) -> threading.Lock:
        if self._batch_lock is None:
            self._batch_lock = threading.Lock()
        return self._batch_lock

    def _following(self, indexes: Sequence[int]) -> tuple[int, ...]:
        """The batch expected after ``indexes``: the next of the layout, else the next indexes."""
        if self.layout:
            position = self._layout_position.get(tuple(indexes))
            if position is None or position + 1 == len(self.layout):
                return ()
            return tuple(self.layout[position + 1])
        return tuple(range(indexes[-1] + 1, min(indexes[-1] + 1 + len(indexes), self.total)))

    def _scene(self, index: int) -> int:
        return bisect.bisect_right(self.starts, index) - 1

    def _scene_blocks(self, scene: int) -> SceneBlocks:
        key = (os.getpid(), scene)  # worker processes each decode their own
        if key not in self._blocks:
            for earlier in [k for k in self._blocks if k[1] < scene]:  # scenes are read in order
                self._blocks.pop(earlier).close()
            job = self.jobs[scene]
            windows = [(chunk.row, chunk.col) for chunk in job.plan.chunks]
            self._blocks[key] = SceneBlocks(
                job.path,
                job.indexes,
                job.nodata,
                windows,
                job.plan.read_size,
                self.block_cache_mb,
                parallel=self.threads,
                arrays=self._arrays(),
            )
        return self._blocks[key]

    def _arrays(self) -> UnitArrays:
        if self._unit_arrays is None:
            self._unit_arrays = UnitArrays()
        return self._unit_arrays

    def _decoder_pool(self) -> ThreadPoolExecutor | None:
        if self.threads < 2:
            return None
        if self._decoders is None:
            self._decoders = ThreadPoolExecutor(self.threads, thread_name_prefix="minegeo-decode")
        return self._decoders

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minegeo-read")
        return self._pool


def already_batched(batch: Any) -> Any:
    """The ``DataLoader`` collate function for a dataset whose ``__getitems__`` returns a batch."""
    return batch


def read_window(
    src: Any, indexes: list[int], row: int, col: int, out: np.ndarray, nodata: float | None
) -> np.ndarray:
    """Read a square window at (row, col) into ``out``; outside the raster and nodata read as NaN.

    Args:
        src: an open rasterio dataset.
        indexes: 1-based bands to read.
        row: window top (may be negative).
        col: window left (may be negative).
        out: float32 array (bands, size, size) to fill.
        nodata: the source's nodata value.

    Returns:
        ``out``.
    """
    size = out.shape[-1]
    top, left = max(row, 0), max(col, 0)
    bottom, right = min(row + size, src.height), min(col + size, src.width)
    if (top, left, bottom, right) == (row, col, row + size, col + size):
        src.read(indexes, window=Window(col, row, size, size), out=out)  # decoded in place, no copy
    else:
        out[...] = np.nan
        if bottom > top and right > left:
            window = Window(left, top, right - left, bottom - top)
            out[:, top - row : bottom - row, left - col : right - col] = src.read(
                indexes, window=window, out_dtype=np.float32
            )
    if nodata is not None and not np.isnan(nodata):
        out[out == np.float32(nodata)] = np.nan
    return out


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
