from __future__ import annotations

from pathlib import Path

import pytest
import torch

from minegeo.datamodules.base import IGNORE_INDEX
from minegeo.datamodules.segmentation import PatchPairSegmentationDataModule, SceneSegmentationDataModule


def test_scene_datamodule_yields_normalised_batches_with_ignored_nodata(
    small_world: Path, tmp_path: Path
) -> None:
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
