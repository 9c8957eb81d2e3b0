"""Where to read and where to write: the windows predict slides over a scene.

A scene is cut into *chunks*: each reads one input window (which may reach past the
scene; the outside reads as nodata) and fills one rectangle of the output grid. Per-pixel
models read overlapping tiles whose outputs are blended; strided models (the discovery
FCN) read blocks of cells with a halo of their receptive field, and each block fills its
cells exactly. Chunks come in row-major order and every chunk of a plan has the same read
shape, so they batch together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from minegeo.bundle import ModelGeometry


@dataclass(frozen=True)
class Chunk:
    """One model input and the output cells it produces."""

    #: read window in input pixels: top row, left column (may be negative or past the edge)
    row: int
    col: int
    #: output rectangle filled, in output cells: top row, left column, rows, columns
    out_row: int
    out_col: int
    out_height: int
    out_width: int
    #: index of the chunk's row of chunks (the blending buffer flushes per row)
    band: int


@dataclass(frozen=True)
class Plan:
    """All chunks of one scene and the output grid they fill."""

    chunks: tuple[Chunk, ...]
    #: output grid size, cells
    height: int
    width: int
    #: read window side, input pixels (the same for every chunk)
    read_size: int
    #: where a chunk's output starts inside the model's output (halo cells to drop)
    crop: int
    #: output cells per chunk side
    cells: int
    #: whether chunks overlap and must be blended (per-pixel models)
    blended: bool
    #: chunk row and column starts, in output cells
    row_starts: tuple[int, ...] = ()
    col_starts: tuple[int, ...] = ()


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Starts of tiles of ``tile`` px at ``stride`` covering ``length`` px; the last one ends at the edge.

    A scene shorter than a tile gets one tile at 0 (read past the edge as nodata).
    """
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def segmentation_plan(height: int, width: int, geometry: ModelGeometry, tile: int, overlap: int) -> Plan:
    """Overlapping tiles for a per-pixel model, rounded up to its size multiple.

    A scene smaller than ``tile`` is read in one window just big enough for it: padding a
    448 px patch to 512 px showed the model a band of nodata fill it never saw in
    training and cost a tailings fold 0.06 IoU (experiments/README.md).

    Args:
        height: scene rows.
        width: scene columns.
        geometry: the model's geometry (``size_multiple``, ``min_size``).
        tile: wanted tile side, pixels.
        overlap: pixels shared by neighbouring tiles.

    Returns:
        the plan; output grid = scene grid.
    """
    multiple = geometry.size_multiple
    tile = min(tile, max(height, width))
    tile = max(math.ceil(tile / multiple) * multiple, geometry.min_size)
    overlap = min(overlap, tile // 2)
    rows, cols = tile_starts(height, tile, tile - overlap), tile_starts(width, tile, tile - overlap)
    chunks = tuple(
        Chunk(r, c, r, c, min(tile, height - r), min(tile, width - c), band)
        for band, r in enumerate(rows)
        for c in cols
    )
    return Plan(chunks, height, width, tile, 0, tile, True, tuple(rows), tuple(cols))


def strided_plan(height: int, width: int, geometry: ModelGeometry, cells: int) -> Plan:
    """Square blocks of at most ``cells`` output cells a side for a strided, fully convolutional model.

    Output cell ``j`` is centred at input pixel ``offset + stride * j``; there are
    ``geometry.output_size(side)`` cells per side (every full receptive field). A block
    reads from a multiple of the stride (so the model's pooling grid matches the scene's)
    with enough halo that its cells see real neighbours, never the block's own padding.
    Blocks are as few as ``cells`` allows and shrunk to share the scene evenly, and the
    last of a row is moved back to end at the edge instead of padding: with ``cells=64``
    a 4096 px scene (144 cells a side) gets 3 x 3 blocks of 48 cells, computing each cell
    once, where blocks of 64 (the last moved back by 48) would compute 1.8x the scene's cells.

    Args:
        height: scene rows.
        width: scene columns.
        geometry: the model's geometry.
        cells: most output cells per block side.

    Returns:
        the plan; output grid = cells.
    """
    stride, field = geometry.output_stride, geometry.receptive_field
    rows_out, cols_out = geometry.output_size(height), geometry.output_size(width)
    if min(rows_out, cols_out) <= 0 and min(height, width) >= geometry.min_size:
        return patch_plan(height, width, geometry)
    cells = max(_balanced(rows_out, cells), _balanced(cols_out, cells))
    lead = field / 2 - geometry.offset  # pixels a cell's field reaches before its window start
    halo = math.ceil(lead / stride)
    read = math.ceil(stride * (halo + cells - 1) + geometry.offset + field / 2)
    row_blocks, col_blocks = _block_starts(rows_out, cells), _block_starts(cols_out, cells)
    chunks = tuple(
        Chunk(
            stride * (r - halo),
            stride * (c - halo),
            r,
            c,
            min(cells, rows_out - r),
            min(cells, cols_out - c),
            band,
        )
        for band, r in enumerate(row_blocks)
        for c in col_blocks
    )
    return Plan(chunks, rows_out, cols_out, read, halo, cells, False, tuple(row_blocks), tuple(col_blocks))


def patch_plan(height: int, width: int, geometry: ModelGeometry) -> Plan:
    """One window over a scene smaller than the receptive field, for a model that takes it.

    A "same"-padded FCN trained on 201 px patches gives one cell for a 201 px input: its
    215 px receptive field reaches into the padding. That patch is the paper's own unit,
    so such a scene is read whole from (0, 0), and the model pads its borders exactly as
    in training; the shorter side of a non-square scene is filled with nodata (zeros).

    Args:
        height: scene rows (at least ``geometry.min_size``).
        width: scene columns (at least ``geometry.min_size``).
        geometry: the model's geometry.

    Returns:
        the plan: one chunk, no halo; output grid = the model's cells.
    """
    stride, side = geometry.output_stride, max(height, width)
    rows, cols, cells = ((size - geometry.min_size) // stride + 1 for size in (height, width, side))
    chunk = Chunk(0, 0, 0, 0, rows, cols, 0)
    return Plan((chunk,), rows, cols, side, 0, cells, False, (0,), (0,))


def _balanced(count: int, cells: int) -> int:
    """Block side sharing ``count`` cells evenly among as few blocks of at most ``cells`` as possible."""
    if count <= 0:
        return cells
    return math.ceil(count / math.ceil(count / cells))


def _block_starts(count: int, cells: int) -> list[int]:
    if count <= 0:
        return []
    return tile_starts(count, cells, cells)


def make_plan(
    height: int, width: int, geometry: ModelGeometry, tile: int = 512, overlap: int = 64, cells: int = 48
) -> Plan:
    """The plan for a model: blended tiles for stride 1, blocks of cells otherwise.

    Args:
        height: scene rows.
        width: scene columns.
        geometry: the model's geometry.
        tile: tile side for per-pixel models.
        overlap: tile overlap for per-pixel models.
        cells: block side, in cells, for strided models.

    Returns:
        the scene's plan.
    """
    if geometry.output_stride == 1:
        return segmentation_plan(height, width, geometry, tile, overlap)
    return strided_plan(height, width, geometry, cells)
