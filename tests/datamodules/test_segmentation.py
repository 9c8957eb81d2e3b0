from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import torch

from minegeo.datamodules.base import IGNORE_INDEX
from minegeo.datamodules.segmentation import (
    PatchPairSegmentationDataModule,
    SceneSegmentationDataModule,
    split_blocks,
)

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def scenes(*boxes: tuple[float, float, float, float]) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(*b) for b in boxes], crs="EPSG:32723")


@pytest.mark.parametrize("seed", range(5))
def test_blocks_of_different_splits_are_at_least_a_buffer_apart(seed: int) -> None:
    blocks = split_blocks(scenes((0, 0, 6000, 5000)), 1000, 300, FRACTIONS, seed)
    for (_, a), (_, b) in itertools.combinations(blocks.iterrows(), 2):
        if a.split != b.split:
            assert a.geometry.distance(b.geometry) >= 300 - 1e-6


def test_blocks_stay_rectangles_so_samplers_cannot_leak() -> None:
    blocks = split_blocks(scenes((0, 0, 6000, 5000)), 1000, 300, FRACTIONS, 0)
    for geometry in blocks.geometry:
        assert geometry.area == pytest.approx(shapely.box(*geometry.bounds).area)


def test_every_split_gets_blocks_in_proportion() -> None:
    blocks = split_blocks(scenes((0, 0, 10_000, 10_000)), 1000, 100, FRACTIONS, 0)
    counts = blocks["split"].value_counts()
    assert counts["train"] == 60 and counts["val"] == 20 and counts["test"] == 20


def test_train_blocks_keep_their_full_area() -> None:
    blocks = split_blocks(scenes((0, 0, 6000, 5000)), 1000, 300, FRACTIONS, 0)
    train = blocks[blocks.split == "train"]
    assert all(area == pytest.approx(1000 * 1000) for area in train.geometry.area)


def test_blocks_of_separate_scenes_never_touch_each_other() -> None:
    blocks = split_blocks(scenes((0, 0, 2000, 2000), (50_000, 0, 53_000, 2000)), 1000, 200, FRACTIONS, 1)
    assert set(blocks.scene) == {0, 1}
    assert len(blocks) == 4 + 6


def test_same_seed_same_split() -> None:
    footprint = scenes((0, 0, 5000, 5000))
    a = split_blocks(footprint, 1000, 100, FRACTIONS, 3)
    b = split_blocks(footprint, 1000, 100, FRACTIONS, 3)
    assert list(a.split) == list(b.split)


def test_scene_datamodule_yields_normalised_batches_with_ignored_nodata(small_world: Path, tmp_path: Path) -> None:
    datamodule = SceneSegmentationDataModule(
        small_world / "scenes",
        small_world / "labels.gpkg",
        patch_size=32,
        train_length=4,
        block_size_px=128,
        batch_size=2,
        stats_samples=8,
        run_dir=tmp_path,
    )
    datamodule.setup("fit")
    assert datamodule.num_bands == 12
    batch = next(iter(datamodule.train_dataloader()))
    batch = datamodule.on_after_batch_transfer(batch, 0)
    assert batch["image"].shape == (2, 12, 32, 32)
    assert torch.isfinite(batch["image"]).all()
    assert set(batch["mask"].unique().tolist()) <= {0, 1, 2, IGNORE_INDEX}
    assert (tmp_path / "split.gpkg").is_file() and (tmp_path / "stats.json").is_file()


def test_scene_datamodule_has_val_and_test_patches(small_world: Path) -> None:
    datamodule = SceneSegmentationDataModule(
        small_world / "scenes", small_world / "labels.gpkg", patch_size=32, block_size_px=128, stats_samples=4
    )
    datamodule.setup("fit")
    assert len(datamodule.val_dataloader().sampler) > 0  # type: ignore[arg-type]
    assert len(datamodule.test_dataloader().sampler) > 0  # type: ignore[arg-type]


@pytest.mark.real_data
def test_real_tailings_pairs_split_by_place(shared_data: Path, tmp_path: Path) -> None:
    datamodule = PatchPairSegmentationDataModule(
        shared_data / "tailings_seg", bands=["B4", "B3", "B2"], batch_size=2, run_dir=tmp_path
    )
    datamodule.setup("fit")
    sizes = {split: len(subset) for split, subset in datamodule.subsets.items()}
    assert sum(sizes.values()) == 60 and min(sizes.values()) > 0
    assert datamodule.preprocessing is not None
    assert datamodule.preprocessing.resolution_m == pytest.approx(10.0, rel=0.1)
    batch = datamodule.on_after_batch_transfer(next(iter(datamodule.val_dataloader())), 0)
    assert batch["image"].shape[1:] == (3, 448, 448)
    assert (tmp_path / "split.csv").is_file()
