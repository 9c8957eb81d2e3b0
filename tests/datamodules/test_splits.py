"""Tests for minegeo.datamodules.splits: place groups, split/fold assignment, scene blocks, split files."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from minegeo.datamodules.splits import (
    assign_splits,
    group_by_place,
    kfold_assign,
    load_split,
    save_split,
    split_blocks,
)
from minegeo.datasets.raster import pixel_size_m
from minegeo.errors import MinegeoInputError

PATCH_M = 100.0  # side of the hand-made footprints, metres


def squares(origins: list[tuple[float, float]], crs: str | None = "EPSG:32723") -> gpd.GeoDataFrame:
    """Square footprints of side PATCH_M with these lower-left corners."""
    boxes = [shapely.box(x, y, x + PATCH_M, y + PATCH_M) for x, y in origins]
    return gpd.GeoDataFrame({"path": [f"p{i}" for i in range(len(boxes))]}, geometry=boxes, crs=crs)


def scattered(count: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Footprints at random places in a 3 km square: some overlap, some stand alone."""
    rng = np.random.default_rng(seed)
    return squares([tuple(xy) for xy in rng.uniform(0, 3000, size=(count, 2))])


def test_overlapping_footprints_share_a_group() -> None:
    groups = group_by_place(squares([(0, 0), (50, 50), (5000, 0)]), distance_m=PATCH_M)
    assert groups[0] == groups[1] != groups[2]


def test_footprints_within_the_distance_share_a_group() -> None:
    groups = group_by_place(squares([(0, 0), (180, 0), (400, 0)]), distance_m=PATCH_M)
    assert groups[0] == groups[1]
    assert groups[1] != groups[2]


def test_grouping_is_transitive() -> None:
    chain = [(150.0 * i, 0.0) for i in range(5)]
    assert len(set(group_by_place(squares(chain), distance_m=60))) == 1


def test_geographic_footprints_are_grouped_in_metres() -> None:
    metric = squares([(500_000, 7_800_000), (500_180, 7_800_000), (500_400, 7_800_000)])
    groups = group_by_place(metric.to_crs("EPSG:4326"), distance_m=PATCH_M)
    assert groups.tolist() == [0, 0, 1]


def test_splits_cover_the_fractions_by_item_count() -> None:
    splits = assign_splits(np.arange(100), {"train": 0.7, "val": 0.15, "test": 0.15})
    assert {name: int((splits == name).sum()) for name in ("train", "val", "test")} == {
        "train": 70,
        "val": 15,
        "test": 15,
    }


def test_a_group_goes_whole_to_one_split() -> None:
    groups = np.repeat(np.arange(12), np.arange(1, 13))
    splits = assign_splits(groups, seed=3)
    for group in np.unique(groups):
        assert len(set(splits[groups == group])) == 1


def test_every_split_gets_a_group_when_there_are_three() -> None:
    splits = assign_splits([0] * 50 + [1] + [2])
    assert set(splits) == {"train", "val", "test"}


def test_split_assignment_is_seeded() -> None:
    groups = np.arange(30)
    assert (assign_splits(groups, seed=4) == assign_splits(groups, seed=4)).all()
    assert (assign_splits(groups, seed=4) != assign_splits(groups, seed=5)).any()


def test_negative_fraction_is_an_error() -> None:
    with pytest.raises(MinegeoInputError, match="non-negative"):
        assign_splits([0, 1, 2], {"train": 1.0, "val": -0.5})


def test_splits_are_at_least_the_linkage_distance_apart() -> None:
    footprints = scattered(80)
    splits = assign_splits(group_by_place(footprints, distance_m=PATCH_M), seed=1)
    train = shapely.union_all(footprints.geometry[splits == "train"].values)
    for other in ("val", "test"):
        assert train.distance(shapely.union_all(footprints.geometry[splits == other].values)) >= PATCH_M


def test_kfold_keeps_groups_whole_and_balances_folds() -> None:
    groups = group_by_place(scattered(80), distance_m=PATCH_M)
    folds = kfold_assign(groups, k=4)
    for group in np.unique(groups):
        assert len(set(folds[groups == group])) == 1
    sizes = np.bincount(folds, minlength=4)
    assert sizes.max() - sizes.min() <= np.bincount(groups).max()


def test_kfold_with_more_folds_than_groups_is_an_error() -> None:
    with pytest.raises(MinegeoInputError, match="k=3 needs 2 <= k <= the number of place groups \\(2\\)"):
        kfold_assign([0, 0, 1], k=3)


BLOCK_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def scenes(*boxes: tuple[float, float, float, float]) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(*b) for b in boxes], crs="EPSG:32723")


@pytest.mark.parametrize("seed", range(5))
def test_blocks_of_different_splits_are_at_least_a_buffer_apart(seed: int) -> None:
    blocks = split_blocks(scenes((0, 0, 6000, 5000)), 1000, 300, BLOCK_FRACTIONS, seed)
    for (_, a), (_, b) in itertools.combinations(blocks.iterrows(), 2):
        if a.split != b.split:
            assert a.geometry.distance(b.geometry) >= 300 - 1e-6


def test_blocks_stay_rectangles_so_samplers_cannot_leak() -> None:
    blocks = split_blocks(scenes((0, 0, 6000, 5000)), 1000, 300, BLOCK_FRACTIONS, 0)
    for geometry in blocks.geometry:
        assert geometry.area == pytest.approx(shapely.box(*geometry.bounds).area)


def test_every_split_gets_blocks_in_proportion() -> None:
    blocks = split_blocks(scenes((0, 0, 10_000, 10_000)), 1000, 100, BLOCK_FRACTIONS, 0)
    counts = blocks["split"].value_counts()
    assert counts["train"] == 60 and counts["val"] == 20 and counts["test"] == 20


def test_train_blocks_keep_their_full_area() -> None:
    blocks = split_blocks(scenes((0, 0, 6000, 5000)), 1000, 300, BLOCK_FRACTIONS, 0)
    train = blocks[blocks.split == "train"]
    assert all(area == pytest.approx(1000 * 1000) for area in train.geometry.area)


def test_blocks_of_separate_scenes_never_touch_each_other() -> None:
    blocks = split_blocks(
        scenes((0, 0, 2000, 2000), (50_000, 0, 53_000, 2000)), 1000, 200, BLOCK_FRACTIONS, 1
    )
    assert set(blocks.scene) == {0, 1}
    assert len(blocks) == 4 + 6


def test_same_seed_same_split() -> None:
    footprint = scenes((0, 0, 5000, 5000))
    a = split_blocks(footprint, 1000, 100, BLOCK_FRACTIONS, 3)
    b = split_blocks(footprint, 1000, 100, BLOCK_FRACTIONS, 3)
    assert list(a.split) == list(b.split)


def test_split_file_round_trips(tmp_path: Path) -> None:
    table = pd.DataFrame({"path": ["a.tif", "b.tif"], "group": [0, 1], "split": ["train", "test"]})
    save_split(tmp_path / "split.csv", table)
    pd.testing.assert_frame_equal(load_split(tmp_path / "split.csv"), table)


def test_missing_split_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="split file not found"):
        load_split(tmp_path / "nope.csv")


@pytest.mark.real_data
def test_near_duplicate_tailings_patches_share_a_split(shared_data: Path) -> None:
    paths = sorted((shared_data / "tailings_seg" / "img").glob("img_*.tif"))
    boxes = []
    for path in paths:
        with rasterio.open(path) as src:
            boxes.append(shapely.box(*src.bounds))
            crs, patch_m = src.crs, 448 * pixel_size_m(src)
    footprints = gpd.GeoDataFrame({"path": [p.name for p in paths]}, geometry=boxes, crs=crs)
    groups = group_by_place(footprints, distance_m=patch_m)
    splits = assign_splits(groups)
    index = {p.name: i for i, p in enumerate(paths)}
    for a, b in [("img_9.tif", "img_70.tif"), ("img_41.tif", "img_65.tif"), ("img_19.tif", "img_21.tif")]:
        assert groups[index[a]] == groups[index[b]]
        assert splits[index[a]] == splits[index[b]]
    assert len(paths) == 60
    assert len(np.unique(groups)) == 20
