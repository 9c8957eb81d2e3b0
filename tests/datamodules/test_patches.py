"""Tests for minegeo.datamodules.patches: place splits, train-only statistics, batches."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import rasterio
import shapely
import torch

from minegeo import DISCOVERY_CLASSES, ORETYPE_CLASSES, SENTINEL2_L1C_BANDS
from minegeo.bundle import Preprocessing
from minegeo.datamodules.patches import PatchDataModule
from minegeo.datamodules.splits import load_split
from minegeo.datamodules.stats import load_stats
from minegeo.errors import MinegeoInputError
from tests.datasets.test_patches import make_folder, write_patch

PATCH = 9  # pixels; the tiny patches are 90 m wide at 10 m


@pytest.fixture
def patch_root(tmp_path: Path) -> Path:
    """Two classes of 12 patches, 1 km apart, plus a near-duplicate of mine_0 (30 m off)."""
    root = make_folder(tmp_path / "patches", {"mine": 12, "not_mine": 12})
    write_patch(root / "mine" / "mine_0_again.tif", origin=(500_030.0, 7_800_000.0))
    return root


def ready(root: Path, **kwargs: object) -> PatchDataModule:
    """A set-up module over ``root`` with tiny patches and no balancing."""
    module = PatchDataModule(root, patch_size=PATCH, balance=False, batch_size=4, **kwargs)  # type: ignore[arg-type]
    module.setup("fit")
    return module


def preprocessing(module: PatchDataModule) -> Preprocessing:
    """The module's preprocessing, known after setup."""
    assert module.preprocessing is not None
    return module.preprocessing


def split_paths(module: PatchDataModule, split: str) -> list[str]:
    """Paths of the patches in one split, in loader order."""
    files = module.folder.files
    return [str(files[i].path) for i in module.splits[split].indices]


def test_every_patch_lands_in_exactly_one_split(patch_root: Path) -> None:
    module = ready(patch_root)
    counts = {name: len(module.splits[name]) for name in ("train", "val", "test")}
    assert sum(counts.values()) == 25
    assert all(counts.values())
    assert not set(split_paths(module, "train")) & set(
        split_paths(module, "val") + split_paths(module, "test")
    )


def test_near_duplicates_share_a_split(patch_root: Path, tmp_path: Path) -> None:
    ready(patch_root, run_dir=tmp_path / "run")
    table = load_split(tmp_path / "run" / "split.csv")
    by_name = dict(zip(table["path"].map(lambda p: Path(p).name), table["split"], strict=True))
    assert by_name["mine_0.tif"] == by_name["mine_0_again.tif"]


def test_splits_are_at_least_one_patch_apart(patch_root: Path) -> None:
    module = ready(patch_root)
    footprints = module.folder.footprints()
    train = set(split_paths(module, "train"))
    inside = footprints["path"].isin(train)
    gap = shapely.union_all(footprints.geometry[inside].values).distance(
        shapely.union_all(footprints.geometry[~inside].values)
    )
    assert gap >= PATCH * 10.0


def test_run_dir_receives_split_and_stats(patch_root: Path, tmp_path: Path) -> None:
    module = ready(patch_root, run_dir=tmp_path / "run")
    table = load_split(tmp_path / "run" / "split.csv")
    assert list(table.columns) == ["path", "label", "group", "split"]
    bands, mean, std = load_stats(tmp_path / "run" / "stats.json")
    assert (bands, mean, std) == (
        preprocessing(module).bands,
        preprocessing(module).mean,
        preprocessing(module).std,
    )


def test_preprocessing_describes_the_files(patch_root: Path) -> None:
    module = ready(patch_root, reflectance_scale=1e-4)
    pre = preprocessing(module)
    assert pre.bands == ("B2", "B3", "B4")
    assert pre.resolution_m == pytest.approx(10.0)
    assert pre.reflectance_scale == 1e-4
    assert pre.mean == pytest.approx((1e-5, 2e-5, 3e-5))
    assert module.num_bands == 3
    assert module.class_names == ("mine", "not_mine")


def test_statistics_ignore_val_and_test_patches(patch_root: Path) -> None:
    before = preprocessing(ready(patch_root))
    held_out = split_paths(ready(patch_root), "val") + split_paths(ready(patch_root), "test")
    for path in held_out:
        with rasterio.open(path, "r+") as dst:
            dst.write(dst.read() * 100 + 7)
    assert preprocessing(ready(patch_root)) == before


def test_kfold_holds_one_fold_out_as_val_and_test(patch_root: Path) -> None:
    module = ready(patch_root, kfold=5, fold=2)
    assert split_paths(module, "val") == split_paths(module, "test")
    assert not set(split_paths(module, "train")) & set(split_paths(module, "val"))
    assert len(module.splits["train"]) + len(module.splits["val"]) == 25


def test_kfold_folds_cover_every_patch_once(patch_root: Path) -> None:
    held_out = [
        path for fold in range(3) for path in split_paths(ready(patch_root, kfold=3, fold=fold), "val")
    ]
    assert sorted(held_out) == sorted(set(held_out))
    assert len(held_out) == 25


def test_batches_are_normalised_with_nodata_as_zero(patch_root: Path) -> None:
    module = ready(patch_root, augment=False)
    batch = next(iter(module.train_dataloader()))
    batch["image"][0, :, 0, 0] = float("nan")
    batch = module.on_after_batch_transfer(batch, 0)
    assert batch["image"].shape == (4, 3, PATCH, PATCH)
    assert torch.isfinite(batch["image"]).all()
    assert (batch["image"][0, :, 0, 0] == 0).all()
    assert batch["label"].dtype == torch.long


def test_train_batches_are_flipped_or_rotated_while_training(patch_root: Path) -> None:
    module = ready(patch_root)
    module.trainer = SimpleNamespace(training=True)  # type: ignore[assignment]
    image = torch.arange(PATCH * PATCH, dtype=torch.float32).view(1, 1, PATCH, PATCH).repeat(8, 3, 1, 1)
    torch.manual_seed(0)
    out = module.on_after_batch_transfer({"image": image, "label": [0] * 8}, 0)["image"]
    assert len({tuple(sample[0].flatten().tolist()) for sample in out}) > 1


def test_train_order_is_seeded(patch_root: Path) -> None:
    orders = [next(iter(ready(patch_root, seed=1).train_dataloader()))["path"] for _ in range(2)]
    assert orders[0] == orders[1]


def test_too_few_places_for_three_splits_is_an_error(tmp_path: Path) -> None:
    root = make_folder(tmp_path, {"mine": 2})
    with pytest.raises(MinegeoInputError, match="2 patches form only 2 places 90 m apart, leaving split"):
        ready(root)


# The small world's 201 px discovery patches crowd two scenes: two places, so k-fold.
@pytest.mark.parametrize(
    ("task", "classes", "size", "kfold"),
    [("discovery", DISCOVERY_CLASSES, 201, 2), ("oretype", ORETYPE_CLASSES, 21, None)],
)
def test_small_world_patches_load(
    small_world: Path, task: str, classes: tuple[str, ...], size: int, kfold: int | None
) -> None:
    root = small_world / "patches" / task
    module = PatchDataModule(root, class_names=classes, patch_size=size, batch_size=2, kfold=kfold)
    module.setup("fit")
    batch = module.on_after_batch_transfer(next(iter(module.train_dataloader())), 0)
    assert batch["image"].shape == (2, 13, size, size)
    assert preprocessing(module).bands == SENTINEL2_L1C_BANDS
    assert len(module.splits["val"]) and len(module.splits["test"])
