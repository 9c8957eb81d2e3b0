"""Tests for tile blending."""

from __future__ import annotations

import numpy as np

from minegeo.inference.blending import RowBlender, axis_weights, window_1d
from minegeo.inference.tiling import tile_starts


def test_window_never_reaches_zero() -> None:
    assert window_1d(64).min() > 0


def test_axis_weights_sum_to_one_everywhere() -> None:
    starts = tile_starts(200, 64, 48)
    total = np.zeros(200)
    for start, weight in zip(starts, axis_weights(200, starts, 64), strict=True):
        total[start : start + len(weight)] += weight
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)


def test_constant_tiles_blend_to_the_constant_in_bounded_rows() -> None:
    height, width, tile = 150, 130, 64
    rows, cols = tile_starts(height, tile, 48), tile_starts(width, tile, 48)
    out = np.full((2, height, width), np.nan, dtype=np.float32)
    buffers = []

    def emit(row: int, probs: np.ndarray, valid: np.ndarray) -> None:
        out[:, row : row + probs.shape[1]] = probs
        buffers.append(probs.shape[1])

    blender = RowBlender(height, width, 2, rows, cols, tile, emit)
    for band, row in enumerate(rows):
        for col in cols:
            size = (min(tile, height - row), min(tile, width - col))
            blender.add(row, col, np.full((2, *size), 0.25, np.float32), np.ones(size, bool))
        blender.finish_band(band)
    np.testing.assert_allclose(out, 0.25, rtol=1e-5)
    assert blender.buffer.shape[1] == tile
