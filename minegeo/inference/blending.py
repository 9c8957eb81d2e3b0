"""Seamless blending of overlapping tiles in a rolling buffer of rows.

Each tile's probabilities are weighted by a separable Hann-like window that is largest in
the tile's centre (where the model sees the most context) and small, never zero, at its
edges. Because the tile grid is a product of row starts and column starts, the sum of all
tiles' weights at a pixel is a product of one sum per axis; normalising each axis once
makes the weights of every pixel sum to exactly one, so no weight buffer is kept. Only
the rows of the current band of tiles live in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: weight at a tile's very edge, relative to its centre: small, never zero
EDGE_WEIGHT = 1e-3


def window_1d(size: int) -> np.ndarray:
    """Hann-like weights over ``size`` pixels, from ``EDGE_WEIGHT`` at the edges to 1 in the middle."""
    hann = np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2
    return (EDGE_WEIGHT + (1 - EDGE_WEIGHT) * hann).astype(np.float64)


def axis_weights(length: int, starts: Sequence[int], tile: int) -> list[np.ndarray]:
    """Per-tile weights along one axis, normalised so that they sum to one at every pixel.

    Args:
        length: pixels along the axis.
        starts: tile starts along the axis.
        tile: tile side.

    Returns:
        one float32 array per tile, covering the tile's pixels inside ``[0, length)``.
    """
    window = window_1d(tile)
    total = np.zeros(length, dtype=np.float64)
    for start in starts:
        stop = min(start + tile, length)
        total[start:stop] += window[: stop - start]
    weights = []
    for start in starts:
        stop = min(start + tile, length)
        weights.append((window[: stop - start] / total[start:stop]).astype(np.float32))
    return weights


class RowBlender:
    """Accumulates a scene's tiles, one band of tile rows at a time, and hands out finished rows.

    Args:
        height: scene rows.
        width: scene columns.
        channels: classes per pixel.
        row_starts: tile row starts (ascending).
        col_starts: tile column starts (ascending).
        tile: tile side.
        emit: called with (first row, probabilities (channels, rows, width), validity (rows,
            width)) for each finished band.
    """

    def __init__(
        self,
        height: int,
        width: int,
        channels: int,
        row_starts: Sequence[int],
        col_starts: Sequence[int],
        tile: int,
        emit: Callable[[int, np.ndarray, np.ndarray], None],
    ) -> None:
        self.height, self.row_starts, self.emit = height, list(row_starts), emit
        self.row_weights = dict(
            zip(self.row_starts, axis_weights(height, self.row_starts, tile), strict=True)
        )
        self.col_weights = dict(zip(col_starts, axis_weights(width, col_starts, tile), strict=True))
        self.buffer = np.zeros((channels, min(tile, height), width), dtype=np.float32)
        self.valid = np.zeros(self.buffer.shape[1:], dtype=bool)
        self.top = 0

    def add(self, row: int, col: int, probs: np.ndarray, valid: np.ndarray) -> None:
        """Add one tile's probabilities ``(channels, rows, cols)`` and validity (cropped to the scene)."""
        _, rows, cols = probs.shape
        weight = self.row_weights[row][:, None] * self.col_weights[col][None, :]
        top = row - self.top
        self.buffer[:, top : top + rows, col : col + cols] += probs * weight
        self.valid[top : top + rows, col : col + cols] |= valid

    def finish_band(self, band: int) -> None:
        """Emit the rows no later tile touches and roll the buffer past them."""
        last = band + 1 == len(self.row_starts)
        next_top = self.height if last else self.row_starts[band + 1]
        done = next_top - self.top
        self.emit(self.top, self.buffer[:, :done], self.valid[:done])
        kept = self.buffer.shape[1] - done
        self.buffer[:, :kept] = self.buffer[:, done:]
        self.buffer[:, kept:] = 0.0
        self.valid[:kept] = self.valid[done:]
        self.valid[kept:] = False
        self.top = next_top
