"""A scene's decoded blocks: each decoded once, kept until the last window that needs it.

Neighbouring windows overlap (tile overlap, the FCN's halo) and rarely line up with the
file's blocks, so reading each window through GDAL decodes most blocks several times:
on a 4096 px scene of 512 px ZSTD tiles, 2.4x the scene for U-Net tiles of 768 px and
3.4x for the FCN's blocks of 64 cells. Here the scene is cut into *units* that line up with the
file's blocks (about 512 x 512 px); a window is copied together from its units, each
decoded on first use (several at once, one GDAL handle per thread) and dropped after the
last window of the plan that reads it, or earlier, furthest next use first, when the
cache outgrows its budget (so memory stays flat however wide the scene). A dropped
unit's array holds the next unit decoded, of this scene or the next one.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

#: pixels per unit side the grid aims for: large enough to keep per-unit overhead small
UNIT_SIDE = 512

#: later windows whose units may be decoded early, to give every decoding thread a unit
LOOKAHEAD_WINDOWS = 4

Unit = tuple[int, int]


def footprint(array: np.ndarray) -> int:
    """Bytes of the memory under ``array`` (a view lent by :class:`UnitArrays` may use less)."""
    return int(array.nbytes if array.base is None else array.base.nbytes)


class UnitArrays:
    """Arrays of dropped units, handed out again for the next units decoded (any scene's).

    Fresh pages cost more than the decoding: on a 2-core VM a 12-band 512 px unit took
    60 ms to decode into new memory and 29 ms into reused memory. Arrays are kept flat
    and lent as views, so an edge unit can use any array large enough.
    """

    def __init__(self) -> None:
        self._spare: list[np.ndarray] = []
        self._lock = threading.Lock()

    @property
    def spare_bytes(self) -> int:
        """Bytes of arrays kept for reuse."""
        return sum(array.nbytes for array in self._spare)

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 array of ``shape``: a view of the smallest spare that holds it, else new."""
        size = math.prod(shape)
        with self._lock:
            fitting = [n for n, array in enumerate(self._spare) if array.size >= size]
            if fitting:
                flat = self._spare.pop(min(fitting, key=lambda n: self._spare[n].size))
                return flat[:size].reshape(shape)
        return np.empty(size, np.float32).reshape(shape)

    def give(self, array: np.ndarray, room: float) -> None:
        """Keep ``array`` (from :meth:`take`) for reuse if spares stay within ``room`` bytes."""
        with self._lock:
            if self.spare_bytes + footprint(array) <= room:
                self._spare.append(array.reshape(-1) if array.base is None else array.base.reshape(-1))

    def clear(self) -> None:
        """Let go of every spare array."""
        with self._lock:
            self._spare.clear()


@dataclass(frozen=True)
class _Decoded:
    """A decoded unit: pixels (rows, cols, bands) and which are finite (``None``: all of them)."""

    pixels: np.ndarray
    mask: np.ndarray | None


@dataclass(frozen=True)
class UnitGrid:
    """Units of a raster: rectangles made of whole file blocks, about ``UNIT_SIDE`` px a side."""

    height: int
    width: int
    unit_height: int
    unit_width: int

    @classmethod
    def for_raster(
        cls, height: int, width: int, block_shape: tuple[int, int], side: int = UNIT_SIDE
    ) -> UnitGrid:
        """Units of whole blocks about ``side`` px a side; a striped file's span its width, as many pixels."""
        block_height, block_width = block_shape
        unit_width = min(width, block_width * max(1, round(side / block_width)))
        rows = side * side / unit_width
        unit_height = min(height, block_height * max(1, round(rows / block_height)))
        return cls(height, width, unit_height, unit_width)

    def units(self, row: int, col: int, size: int) -> list[Unit]:
        """Units a ``size`` px square window at (row, col) overlaps inside the raster, row-major."""
        top, left = max(row, 0), max(col, 0)
        bottom, right = min(row + size, self.height), min(col + size, self.width)
        if bottom <= top or right <= left:
            return []
        rows = range(top // self.unit_height, (bottom - 1) // self.unit_height + 1)
        cols = range(left // self.unit_width, (right - 1) // self.unit_width + 1)
        return [(r, c) for r in rows for c in cols]

    def bounds(self, unit: Unit) -> tuple[int, int, int, int]:
        """Pixel bounds (top, left, bottom, right) of a unit, clipped to the raster."""
        top, left = unit[0] * self.unit_height, unit[1] * self.unit_width
        return top, left, min(top + self.unit_height, self.height), min(left + self.unit_width, self.width)


class SceneBlocks:
    """Reads the windows of one scene's plan from units decoded once.

    Args:
        path: the scene.
        indexes: 1-based bands to read, in the model's order.
        nodata: the scene's nodata value (read as NaN).
        windows: (row, col) of every window of the plan, in the order they will be read.
        size: window side, pixels.
        budget_mb: most decoded units kept between windows, MB.
        unit_side: pixels per unit side the grid aims for.
        parallel: units decoded at once when a pool is given (its threads); a window that
            needs fewer also decodes those of the next few windows.
        arrays: where unit arrays come from and go back to (share one between the scenes
            of a run, so later scenes decode into memory already mapped); the units held
            and the spares together stay within ``budget_mb``.
    """

    def __init__(
        self,
        path: Path,
        indexes: Sequence[int],
        nodata: float | None,
        windows: Sequence[tuple[int, int]],
        size: int,
        budget_mb: float = 1024,
        unit_side: int = UNIT_SIDE,
        parallel: int = 1,
        arrays: UnitArrays | None = None,
    ) -> None:
        self.path, self.indexes, self.nodata = path, list(indexes), nodata
        self.windows, self.size, self.budget = list(windows), size, budget_mb * 2**20
        self.parallel, self.arrays = parallel, arrays or UnitArrays()
        self._handles: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.grid = UnitGrid.for_raster(*self._shape(), side=unit_side)
        self._uses: dict[Unit, list[int]] = {}
        for number, (row, col) in enumerate(self.windows):
            for unit in self.grid.units(row, col, size):
                self._uses.setdefault(unit, []).append(number)
        self._cache: dict[Unit, _Decoded] = {}
        self._scratch = threading.local()
        #: units decoded so far (a unit decoded twice was evicted before its last use)
        self.decoded = 0

    def read(self, number: int, out: np.ndarray, valid: np.ndarray, pool: Executor | None = None) -> None:
        """Copy window ``number`` into ``out``; outside the scene and nodata are NaN and not ``valid``.

        Args:
            number: the window's position in ``windows``.
            out: float32 pixel-interleaved array (size, size, bands) to fill.
            valid: bool array (size, size) to fill: whether every band of the pixel is finite.
            pool: threads to decode missing units on (``None``: decode them in turn).
        """
        row, col = self.windows[number]
        with self._lock:
            units = self.grid.units(row, col, self.size)
            self._decode(self._to_decode(number, pool), pool)
            whole = self._inside(row, col) and all(self._cache[unit].mask is None for unit in units)
            if not self._inside(row, col):
                out[...] = np.nan
            valid[...] = whole
            for unit in units:
                target, source = self._overlap(unit, row, col)
                decoded = self._cache[unit]
                out[target] = decoded.pixels[source]
                if not whole:
                    valid[target] = True if decoded.mask is None else decoded.mask[source]
            self._evict(number)

    def close(self) -> None:
        """Hand the decoded units' arrays back and close the file handles."""
        with self._lock:
            for decoded in self._cache.values():
                self.arrays.give(decoded.pixels, self.budget)
            self._cache.clear()
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()

    @property
    def cached_bytes(self) -> int:
        """Bytes of decoded units held now."""
        return sum(footprint(decoded.pixels) for decoded in self._cache.values())

    def _shape(self) -> tuple[int, int, tuple[int, int]]:
        src = self._handle()
        return src.height, src.width, tuple(src.block_shapes[0])

    def _overlap(self, unit: Unit, row: int, col: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """Where a unit and the window at (row, col) overlap: in window and in unit coordinates."""
        top, left, bottom, right = self.grid.bounds(unit)
        r0, r1 = max(top, row), min(bottom, row + self.size)
        c0, c1 = max(left, col), min(right, col + self.size)
        return (slice(r0 - row, r1 - row), slice(c0 - col, c1 - col)), (
            slice(r0 - top, r1 - top),
            slice(c0 - left, c1 - left),
        )

    def _inside(self, row: int, col: int) -> bool:
        bottom, right = row + self.size, col + self.size
        return row >= 0 and col >= 0 and bottom <= self.grid.height and right <= self.grid.width

    def _to_decode(self, number: int, pool: Executor | None) -> list[Unit]:
        """Window ``number``'s missing units and, while fewer than ``parallel``, the next windows'.

        Overlapping tiles mostly need one new unit each; decoded alone, it leaves the other
        threads idle (U-Net tiles on a 4096 px scene: 2.1 s of decoding instead of 1.4 s).
        """
        wanted = self._missing(number, [])
        upcoming = range(number + 1, min(number + 1 + LOOKAHEAD_WINDOWS, len(self.windows)))
        for later in upcoming if pool is not None and wanted else ():
            if len(wanted) >= self.parallel:
                break
            wanted += self._missing(later, wanted)
        return wanted

    def _missing(self, number: int, already: list[Unit]) -> list[Unit]:
        row, col = self.windows[number]
        units = self.grid.units(row, col, self.size)
        return [unit for unit in units if unit not in self._cache and unit not in already]

    def _decode(self, units: list[Unit], pool: Executor | None) -> None:
        if pool is None or len(units) < 2:
            decoded = [self._decode_unit(unit) for unit in units]
        else:
            decoded = list(pool.map(self._decode_unit, units))
        self._cache.update(zip(units, decoded, strict=True))
        self.decoded += len(units)

    def _decode_unit(self, unit: Unit) -> _Decoded:
        """One unit as (rows, cols, bands) float32, nodata as NaN, with its mask of finite pixels."""
        top, left, bottom, right = self.grid.bounds(unit)
        shape = (bottom - top, right - left, len(self.indexes))
        # band-sequential is GDAL's fast path even for pixel-interleaved files; one
        # transposing copy here makes every window copy a plain row copy
        bands = self._scratch_array((shape[2], shape[0], shape[1]))
        self._handle().read(self.indexes, window=Window(left, top, shape[1], shape[0]), out=bands)
        pixels = self.arrays.take(shape)
        pixels[...] = bands.transpose(1, 2, 0)
        if self.nodata is not None and not math.isnan(self.nodata):
            pixels[pixels == np.float32(self.nodata)] = np.nan
        # a finite sum proves every value finite; only then is the per-pixel mask skipped
        finite = bool(np.isfinite(pixels.sum()))
        return _Decoded(pixels, None if finite else np.isfinite(pixels).all(axis=2))

    def _scratch_array(self, shape: tuple[int, int, int]) -> np.ndarray:
        scratch: np.ndarray | None = getattr(self._scratch, "array", None)
        if scratch is None or scratch.shape != shape:
            scratch = self._scratch.array = np.empty(shape, np.float32)
        return scratch

    def _handle(self) -> Any:
        # a GDAL handle is not thread-safe: one per decoding thread
        thread = threading.get_ident()
        if thread not in self._handles:
            self._handles[thread] = rasterio.open(self.path)
        return self._handles[thread]

    def _evict(self, number: int) -> None:
        """Drop units no later window reads, then the furthest-needed ones while over budget."""
        upcoming = {unit: self._next_use(unit, number) for unit in self._cache}
        dropped = [unit for unit, later in upcoming.items() if later is None]
        held = self.cached_bytes - sum(footprint(self._cache[unit].pixels) for unit in dropped)
        later_uses = {unit: later for unit, later in upcoming.items() if later is not None}
        needed = sorted(later_uses, key=lambda unit: later_uses[unit])
        while needed and held > self.budget:
            dropped.append(needed.pop())
            held -= footprint(self._cache[dropped[-1]].pixels)
        for unit in dropped:
            pixels = self._cache.pop(unit).pixels
            self.arrays.give(pixels, self.budget - self.cached_bytes)

    def _next_use(self, unit: Unit, number: int) -> int | None:
        uses = self._uses.get(unit, [])
        position = bisect.bisect_right(uses, number)
        return uses[position] if position < len(uses) else None
