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
from shapely.strtree import STRtree

from minegeo.errors import MinegeoInputError, existing_file
from minegeo.geo import centre_utm_crs
from minegeo.io import atomic_path

#: the default train / val / test fractions
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}


def group_by_place(footprints: gpd.GeoDataFrame, distance_m: float) -> np.ndarray:
    """Group ids such that footprints within ``distance_m`` of each other share a group.

    Linkage is transitive (connected components of the "within ``distance_m``" graph), so
    footprints in different groups are more than ``distance_m`` apart. Geographic inputs
    are projected to the UTM zone of their centre first; footprints without a CRS are taken to
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
        footprints = footprints.to_crs(centre_utm_crs(footprints))
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


def split_blocks(
    footprints: gpd.GeoSeries, block_size: float, buffer: float, fractions: dict[str, float], seed: int
) -> gpd.GeoDataFrame:
    """Cut scene footprints into square blocks and give each block a split.

    Blocks stay rectangles (TorchGeo samplers draw within a region's bounds, so a ragged
    region would leak): a val or test block gives up ``buffer`` on every side that faces
    a block of another split, diagonal neighbours included, so any two places in
    different splits are at least ``buffer`` apart.

    Returns:
        one row per block: ``split`` and the shrunk block geometry, in the footprints' CRS.
    """
    rows = []
    for scene, footprint in enumerate(footprints):
        xmin, ymin, xmax, ymax = footprint.bounds
        n_cols = max(1, round((xmax - xmin) / block_size))
        n_rows = max(1, round((ymax - ymin) / block_size))
        xs, ys = np.linspace(xmin, xmax, n_cols + 1), np.linspace(ymin, ymax, n_rows + 1)
        rows += [
            (scene, r, c, xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(n_rows) for c in range(n_cols)
        ]
    table = pd.DataFrame(rows, columns=["scene", "row", "col", "xmin", "ymin", "xmax", "ymax"])
    table["split"] = _assign_blocks(len(table), fractions, seed)
    geometries = [_shrunk_block(table, i, buffer) for i in range(len(table))]
    blocks = gpd.GeoDataFrame(
        table[["scene", "row", "col", "split"]], geometry=geometries, crs=footprints.crs
    )
    return blocks[~blocks.geometry.is_empty].reset_index(drop=True)


def _assign_blocks(n_blocks: int, fractions: dict[str, float], seed: int) -> list[str]:
    order = np.random.default_rng(seed).permutation(n_blocks)
    total = sum(fractions.values())
    counts = {split: round(n_blocks * fractions.get(split, 0) / total) for split in SPLITS}
    for split in ("val", "test"):  # every split needs a block when there are enough
        if n_blocks >= 3 and counts[split] == 0:
            counts[split] = 1
    counts["train"] = n_blocks - counts["val"] - counts["test"]
    labels = ["train"] * counts["train"] + ["val"] * counts["val"] + ["test"] * counts["test"]
    assigned = [""] * n_blocks
    for position, block in enumerate(order):
        assigned[block] = labels[position]
    return assigned


def _shrunk_block(table: pd.DataFrame, i: int, buffer: float) -> shapely.Polygon:
    block = table.iloc[i]
    pushed = {"top": False, "bottom": False, "right": False, "left": False}
    if block.split != "train":
        neighbours = table[(table.scene == block.scene) & (table.split != block.split)]
        for _, other in neighbours.iterrows():
            dr, dc = other.row - block.row, other.col - block.col
            if max(abs(dr), abs(dc)) != 1:
                continue
            # Side neighbours push the facing side in; a diagonal one pushes the row side.
            side = {1: "top", -1: "bottom"}.get(dr) or {1: "right", -1: "left"}[dc]
            pushed[side] = True
    xmin = block.xmin + buffer * pushed["left"]
    xmax = block.xmax - buffer * pushed["right"]
    ymin = block.ymin + buffer * pushed["bottom"]
    ymax = block.ymax - buffer * pushed["top"]
    if xmax <= xmin or ymax <= ymin:
        return shapely.Polygon()  # the buffer ate the whole block
    return shapely.box(xmin, ymin, xmax, ymax)


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
    path = existing_file(path, "split file")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise MinegeoInputError(f"{path}: not a readable split CSV ({error})") from error
    if "split" not in table.columns and "fold" not in table.columns:
        raise MinegeoInputError(f"{path}: columns {list(table.columns)} lack 'split' or 'fold'")
    return table
