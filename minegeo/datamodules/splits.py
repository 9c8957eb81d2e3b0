"""Spatial splits that cannot leak: whole places go to one split, with a buffer between splits.

Patches exported twice around the same site overlap almost entirely, so a random split
puts the same ground in train and test. Here patches closer than a linkage distance (at
least one patch) are grouped, transitively, and whole groups are assigned to splits or
folds; any two patches in different splits are therefore at least that distance apart.
Whole scenes are split into square blocks instead, shrunk where they meet other splits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import Polygon
from shapely.strtree import STRtree

from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path

#: the default train / val / test fractions
DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}


def group_by_place(footprints: gpd.GeoDataFrame, distance_m: float) -> np.ndarray:
    """Group ids such that footprints within ``distance_m`` of each other share a group.

    Linkage is transitive (connected components of the "within ``distance_m``" graph), so
    footprints in different groups are more than ``distance_m`` apart. Geographic inputs
    are projected to an estimated UTM zone first; footprints without a CRS are taken to
    be in metres.

    Args:
        footprints: one polygon per item.
        distance_m: linkage distance, metres (one patch side for a one-patch buffer).

    Returns:
        int array of group ids, one per row, numbered in order of first appearance.
    """
    if distance_m < 0:
        raise MinegeoInputError(f"split distance {distance_m} m is negative; expected >= 0")
    if len(footprints) == 0:
        return np.zeros(0, dtype=np.int64)
    if footprints.crs is not None and footprints.crs.is_geographic:
        footprints = footprints.to_crs(footprints.estimate_utm_crs())
    geometries = np.asarray(footprints.geometry.values)
    left, right = STRtree(geometries).query(geometries, predicate="dwithin", distance=distance_m)
    count = len(geometries)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(count, count))
    _, groups = connected_components(graph, directed=False)
    return groups.astype(np.int64)


def assign_splits(
    groups: Sequence[int] | np.ndarray,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> np.ndarray:
    """Assign whole groups to splits, balanced by item count.

    Groups go largest first (equal sizes in seeded random order) to the split furthest
    below its target count; with at least as many groups as splits, every split gets one.

    Args:
        groups: group id per item (from :func:`group_by_place`).
        fractions: target fraction of items per split name.
        seed: seed of the order among groups of equal size.

    Returns:
        array of split names, one per item.
    """
    names, targets = _targets(fractions)
    chosen = _assign_items(np.asarray(groups), targets, seed)
    return np.array(names, dtype=str)[chosen]


def kfold_assign(groups: Sequence[int] | np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Assign whole groups to ``k`` folds of about equal item counts (the paper's k-fold).

    Args:
        groups: group id per item.
        k: number of folds, at least 2 and at most the number of groups.
        seed: seed of the order among groups of equal size.

    Returns:
        int array of fold indexes in ``[0, k)``, one per item.
    """
    groups = np.asarray(groups)
    count = len(np.unique(groups))
    if k < 2 or k > count:
        raise MinegeoInputError(f"k-fold with k={k} needs 2 <= k <= the number of place groups ({count})")
    return _assign_items(groups, np.full(k, 1.0 / k), seed)


def _targets(fractions: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    """Split names and their fractions, normalised to sum to one."""
    names = list(fractions)
    weights = np.array([fractions[name] for name in names], dtype=np.float64)
    if len(names) == 0 or (weights < 0).any() or weights.sum() <= 0:
        raise MinegeoInputError(f"split fractions {dict(fractions)} must be non-negative with a positive sum")
    return names, weights / weights.sum()


def _assign_items(groups: np.ndarray, targets: np.ndarray, seed: int) -> np.ndarray:
    """Bin index per item: whole groups packed greedily towards ``targets`` (fractions)."""
    _, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    bins = _greedy_bins(sizes.astype(np.float64), targets, seed)
    return bins[inverse.reshape(-1)]


def _greedy_bins(sizes: np.ndarray, targets: np.ndarray, seed: int) -> np.ndarray:
    """Bin per weighted element: largest first, each to the bin furthest below its target.

    While as many elements remain as bins are still empty, only empty bins are eligible, so
    every bin gets an element when there are enough of them.
    """
    order = np.random.default_rng(seed).permutation(len(sizes))
    order = order[np.argsort(-sizes[order], kind="stable")]
    goal = targets * sizes.sum()
    filled = np.zeros(len(targets))
    used = np.zeros(len(targets), dtype=bool)
    bins = np.zeros(len(sizes), dtype=np.int64)
    for remaining, element in zip(range(len(order), 0, -1), order, strict=True):
        eligible = ~used if remaining <= (~used).sum() else np.ones(len(targets), dtype=bool)
        deficit = np.where(eligible, goal - filled, -np.inf)
        chosen = int(np.argmax(deficit))
        bins[element] = chosen
        filled[chosen] += sizes[element]
        used[chosen] = True
    return bins


def block_rois(
    extent: Polygon,
    block_size: float,
    buffer: float,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, list[Polygon]]:
    """Split a whole-scene extent into train/val/test regions separated by ``buffer``.

    The extent's bounding box is cut into square blocks; blocks meeting the extent go to
    splits (seeded, balanced by area); then each block loses a strip of ``buffer / 2``
    along every side or corner it shares with another split's block, so any two points of
    different splits are at least ``buffer`` apart.

    Each region is returned as axis-aligned rectangles (clipped to the extent) because
    TorchGeo samplers draw chips inside the bounding box of their ``roi``: one sampler per
    rectangle keeps every chip inside its split, where a MultiPolygon ``roi`` would not.

    Args:
        extent: the area to split, in a metric CRS.
        block_size: side of a block, in the extent's units; larger than ``buffer``.
        buffer: smallest distance between splits (one patch side, in CRS units).
        fractions: target area fraction per split name.
        seed: seed of the block assignment.

    Returns:
        rectangles per split name (a split may get none when there are few blocks).
    """
    if not block_size > buffer >= 0:
        raise MinegeoInputError(f"block size {block_size} must exceed the split buffer {buffer} (>= 0)")
    names, targets = _targets(fractions)
    blocks = _blocks(extent, block_size)
    chosen = _greedy_bins(np.array(list(blocks.values())), targets, seed)
    block_split = {block: names[index] for block, index in zip(blocks, chosen, strict=True)}
    minx, miny = extent.bounds[:2]
    # Each block is cut into 3 x 3 cells: strips of buffer / 2 along its sides, and its centre.
    lows = (0.0, buffer / 2, block_size - buffer / 2)
    highs = (buffer / 2, block_size - buffer / 2, block_size)
    rois: dict[str, list[Polygon]] = {name: [] for name in names}
    for name, (col0, row0, col1, row1) in _merge_cells(_kept_cells(block_split)):
        box = shapely.box(
            minx + (col0 // 3) * block_size + lows[col0 % 3],
            miny + (row0 // 3) * block_size + lows[row0 % 3],
            minx + (col1 // 3) * block_size + highs[col1 % 3],
            miny + (row1 // 3) * block_size + highs[row1 % 3],
        )
        clipped = box.intersection(extent)
        rois[name].extend(part for part in shapely.get_parts(clipped) if part.area > 0)
    return rois


def _blocks(extent: Polygon, block_size: float) -> dict[tuple[int, int], float]:
    """Area inside the extent of each grid block (column, row) of its bounding box that meets it."""
    minx, miny, maxx, maxy = extent.bounds
    columns = max(int(np.ceil((maxx - minx) / block_size)), 1)
    rows = max(int(np.ceil((maxy - miny) / block_size)), 1)
    blocks = {}
    for col in range(columns):
        for row in range(rows):
            x, y = minx + col * block_size, miny + row * block_size
            area = shapely.box(x, y, x + block_size, y + block_size).intersection(extent).area
            if area > 0:
                blocks[(col, row)] = area
    return blocks


def _kept_cells(block_split: Mapping[tuple[int, int], str]) -> dict[tuple[int, int], str]:
    """Split of each kept cell (3 per block and axis) of the blocks' 3 x 3 subdivision.

    A cell is dropped when a block it borders (side or corner) belongs to another split;
    blocks outside the extent do not count. Cells kept in different splits are then at
    least two strips, one buffer, apart.
    """
    kept = {}
    for (col, row), name in block_split.items():
        for sub_col in range(3):
            for sub_row in range(3):
                sides_x = {0, sub_col - 1}
                sides_y = {0, sub_row - 1}
                neighbours = [block_split.get((col + dx, row + dy), name) for dx in sides_x for dy in sides_y]
                if all(other == name for other in neighbours):
                    kept[(3 * col + sub_col, 3 * row + sub_row)] = name
    return kept


def _merge_cells(cells: Mapping[tuple[int, int], str]) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Cover same-split cells with few rectangles: runs along rows, stacked when rows repeat them.

    Returns:
        (split, (first column, first row, last column, last row)) per rectangle, inclusive.
    """
    runs: dict[int, list[list]] = {}
    for (col, row), name in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0])):
        row_runs = runs.setdefault(row, [])
        if row_runs and row_runs[-1][0] == name and row_runs[-1][2] == col - 1:
            row_runs[-1][2] = col
        else:
            row_runs.append([name, col, col])
    rectangles = []
    open_runs: dict[tuple[str, int, int], int] = {}  # run of the previous row -> its first row
    previous = -2
    for row in sorted(runs):
        current = {}
        for name, col0, col1 in runs[row]:
            key = (name, col0, col1)
            current[key] = open_runs.pop(key) if previous == row - 1 and key in open_runs else row
        rectangles += [(name, (c0, first, c1, previous)) for (name, c0, c1), first in open_runs.items()]
        open_runs, previous = current, row
    rectangles += [(name, (c0, first, c1, previous)) for (name, c0, c1), first in open_runs.items()]
    return rectangles


def save_split(path: str | Path, table: pd.DataFrame) -> None:
    """Write a split table (item path or id, group, split or fold) as CSV, atomically.

    Args:
        path: the CSV file to write (saved with the run so it can be reproduced).
        table: one row per item.
    """
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def load_split(path: str | Path) -> pd.DataFrame:
    """Read a split table written by :func:`save_split`.

    Raises:
        MinegeoInputError: if the file is missing or not a split table.
    """
    path = Path(path)
    if not path.is_file():
        raise MinegeoInputError(f"{path}: split file not found")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise MinegeoInputError(f"{path}: not a readable split CSV ({error})") from error
    if "split" not in table.columns and "fold" not in table.columns:
        raise MinegeoInputError(f"{path}: columns {list(table.columns)} lack 'split' or 'fold'")
    return table
