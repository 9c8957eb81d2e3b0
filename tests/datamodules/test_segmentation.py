from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from minegeo import IGNORE_INDEX
from minegeo.datamodules.segmentation import PatchPairSegmentationDataModule, SceneSegmentationDataModule
from minegeo.errors import MinegeoInputError
from tests.datamodules.pairs import write_pairs


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
    assert datamodule.num_bands == 13  # all of the world's L1C bands
    batch = next(iter(datamodule.train_dataloader()))
    batch = datamodule.on_after_batch_transfer(batch, 0)
    assert batch["image"].shape == (2, 13, 32, 32)
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


def test_a_time_series_is_split_by_place_and_sampled_by_period(small_series_world: Path) -> None:
    sizes = {"patch_size": 32, "train_length": 16, "block_size_px": 128, "stats_samples": 4}
    labels = small_series_world / "labels_by_period.gpkg"
    datamodule = SceneSegmentationDataModule(small_series_world / "scenes", labels, **sizes)
    datamodule.setup("fit")
    assert datamodule.blocks is not None
    cells = datamodule.blocks[["scene", "row", "col"]]
    assert not cells.duplicated().any() and set(cells["scene"]) == {0, 1}  # two places, not 8 scenes
    years = {query[2].start.year for query in datamodule.train_dataloader().sampler}  # type: ignore[attr-defined]
    assert years == {2019, 2020, 2021, 2022}


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


def _pair_module(root: Path, **kwargs: object) -> PatchPairSegmentationDataModule:
    options: dict[str, object] = {
        "class_names": ("background", "tailings_dam"),
        "patch_size": 64,
        "batch_size": 4,
    }
    return PatchPairSegmentationDataModule(root, **(options | kwargs))  # type: ignore[arg-type]


def test_kfold_holds_out_one_fold_as_test_and_validates_on_other_places(tmp_path: Path) -> None:
    root = write_pairs(tmp_path / "pairs")
    tests = []
    for fold in range(5):
        module = _pair_module(root, kfold=5, fold=fold, val_fraction=0.25)
        module.setup("fit")
        parts = {name: set(subset.indices) for name, subset in module.subsets.items()}  # type: ignore[attr-defined]
        assert parts["train"] and parts["val"] and parts["test"]
        assert not (parts["train"] & parts["val"]) and not (parts["train"] | parts["val"]) & parts["test"]
        tests.append(parts["test"])
    assert set().union(*tests) == set(range(10))  # every patch is tested exactly once
    assert sum(len(t) for t in tests) == 10


def test_zero_fractions_give_empty_splits(tmp_path: Path) -> None:
    module = _pair_module(write_pairs(tmp_path / "pairs"), fractions={"train": 0.8, "val": 0.2, "test": 0.0})
    module.setup("fit")
    assert len(module.subsets["test"]) == 0 and len(module.subsets["val"]) == 2  # type: ignore[arg-type]


def test_training_draws_random_crops_and_evaluation_whole_patches(tmp_path: Path) -> None:
    module = _pair_module(write_pairs(tmp_path / "pairs"), crop_size=32)
    module.setup("fit")
    train = module.subsets["train"]
    assert len(train) == 4 * len(train.patches)  # type: ignore[attr-defined]  # (64 / 32)^2 crops a patch
    torch.manual_seed(0)
    first, second = train[0], train[0]
    assert first["image"].shape == (3, 32, 32) and first["mask"].shape == (32, 32)
    assert not torch.equal(first["image"], second["image"])  # drawn afresh each time
    assert next(iter(module.val_dataloader()))["image"].shape[-2:] == (64, 64)


def test_foreground_crops_hold_the_rare_class() -> None:
    from minegeo.datamodules.segmentation import RandomCrops

    mask = torch.zeros(64, 64, dtype=torch.long)
    mask[50:53, 5:8] = 1  # 9 of 4096 pixels
    mask[0:4, 0:4] = IGNORE_INDEX  # never a crop's foreground
    patches = [{"image": torch.zeros(3, 64, 64), "mask": mask, "path": "p"}]
    torch.manual_seed(0)
    plain = RandomCrops(patches, 16, 200)  # type: ignore[arg-type]
    biased = RandomCrops(patches, 16, 200, foreground=1.0)  # type: ignore[arg-type]
    hits = [sum(bool((crops[i]["mask"] == 1).any()) for i in range(200)) for crops in (plain, biased)]
    assert hits[1] == 200 and hits[0] < 50
    assert biased[0]["mask"].shape == (16, 16)


def test_balanced_places_are_drawn_equally_often(tmp_path: Path) -> None:
    root = write_pairs(tmp_path / "pairs")
    for copy in range(10, 13):  # place 0 exported four times over (as tailings_seg has places of 7)
        for folder in ("img", "mask"):
            shutil.copy(root / folder / f"{folder}_0.tif", root / folder / f"{folder}_{copy}.tif")
    shares = []
    for balance in (False, True):
        module = _pair_module(root, fractions={"train": 1.0}, balance_places=balance)
        module.setup("fit")
        train = module.subsets["train"]
        names = [Path(train[i]["path"]).stem for i in range(len(train))]  # type: ignore[arg-type]
        place_0 = {i for i, name in enumerate(names) if name in ("img_0", "img_10", "img_11", "img_12")}
        sampler = module.train_dataloader().sampler  # one loader, 200 epochs, as in training
        drawn = [i for _ in range(200) for i in sampler]
        assert len(drawn) == 200 * len(train)  # type: ignore[arg-type]
        shares.append(sum(i in place_0 for i in drawn) / len(drawn))
    assert shares[0] == pytest.approx(4 / 13, abs=0.02)  # every patch once an epoch
    assert shares[1] == pytest.approx(1 / 10, abs=0.02)  # every one of the 10 places alike


def test_a_reloaded_train_loader_draws_on_and_evaluation_never_moves_it(tmp_path: Path) -> None:
    root = write_pairs(tmp_path / "pairs")

    def orders(evaluate_first: bool) -> list[list[int]]:
        module = _pair_module(root, fractions={"train": 0.6, "val": 0.4})
        module.setup("fit")
        if evaluate_first:
            list(module.val_dataloader())
        # the loader made twice, as reload_dataloaders_every_n_epochs does
        return [list(module.train_dataloader().sampler) for _ in range(2)]  # type: ignore[arg-type]

    first, reloaded = orders(evaluate_first=False)
    assert sorted(first) == sorted(reloaded) and first != reloaded  # the next epoch, not a replay
    assert orders(evaluate_first=True) == [first, reloaded]  # seeded, and validation draws apart


def test_bad_pair_settings_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="crop_size=100"):
        _pair_module(tmp_path, crop_size=100)
    with pytest.raises(MinegeoInputError, match=r"foreground_crops=1\.5"):
        _pair_module(tmp_path, crop_size=32, foreground_crops=1.5)
    with pytest.raises(MinegeoInputError, match=r"normalization=weights needs model\.weights"):
        _pair_module(tmp_path, normalization="weights")
    with pytest.raises(MinegeoInputError, match=r"data\.fold=5"):
        _pair_module(tmp_path, kfold=5, fold=5)
