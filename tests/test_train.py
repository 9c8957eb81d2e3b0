"""Every experiment composes and runs (one batch, CPU); the run directory holds the contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from minegeo import SENTINEL2_L1C_BANDS, SENTINEL2_L2A_BANDS
from minegeo.bundle import load_bundle
from minegeo.config import CONFIG_DIR, register_resolvers
from minegeo.errors import MinegeoInputError
from minegeo.inference.runner import run_predict
from minegeo.train import check_kept_checkpoint, train
from tests.datamodules.pairs import write_pairs
from tests.inference.predict_helpers import predict_config

WORLD_EXPERIMENTS = ["fcn_mines", "fcn_oretype", "unet_mines", "deeplab_mines"]
# the real-patch experiments and the architecture each trains
TAILINGS_EXPERIMENTS = {"unet_tailings_rgb": "Unet", "fpn_tailings_rgb": "FPN"}
# Small patches keep one batch of every experiment fast on the CPU. The small world's
# patches come from two places, so patch experiments use the paper's k-fold protocol.
SMALL = {
    "fcn_mines": ["kfold=2"],
    "fcn_oretype": ["kfold=2"],
    "unet_mines": ["data.patch_size=32", "data.block_size_px=128", "data.stats_samples=4"],
    "deeplab_mines": ["data.patch_size=32", "data.block_size_px=128", "data.stats_samples=4"],
}


def compose_train(overrides: list[str], run_dir: Path) -> DictConfig:
    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    return cfg


def world_overrides(world: Path) -> list[str]:
    return ["world=small", f"world.root={world}", "logger=csv"]


@pytest.mark.parametrize("experiment", WORLD_EXPERIMENTS)
def test_experiment_runs_one_batch(experiment: str, small_world: Path, tmp_path: Path) -> None:
    overrides = [f"+experiment={experiment}", "debug=fast", *world_overrides(small_world), *SMALL[experiment]]
    metrics = train(compose_train(overrides, tmp_path), tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == json.loads(json.dumps(metrics))
    assert written["experiment"] == experiment
    assert any(key.startswith("test/") for key in written)
    assert any(key.startswith("val/") for key in written)


def test_series_experiment_trains_on_the_periods_outlines(tmp_path: Path) -> None:
    defaults = compose_train(["+experiment=unet_mines_series"], tmp_path / "defaults")
    assert (defaults.world.periods, defaults.world.labels) == (4, "labels_by_period.gpkg")
    assert defaults.task.loss.weights.lovasz > 0 and defaults.task.loss.weights.edge_ce > 0
    assert list(defaults.task.class_weights) == [1.0, 1.0, 2.0]  # dams weighted twice

    world = tmp_path / "series"
    overrides = ["+experiment=unet_mines_series", "debug=fast", *world_overrides(world), *SMALL["unet_mines"]]
    overrides += ["world.periods=3", "world.labels=labels_by_period.gpkg"]
    metrics = train(compose_train(overrides, tmp_path / "run"), tmp_path / "run")
    assert sorted(p.name for p in (world / "scenes").glob("scene_00.*.tif")) == [
        "scene_00.2019.tif",
        "scene_00.2020.tif",
        "scene_00.2021.tif",
    ]
    assert "test/iou_mine" in metrics


@pytest.mark.real_data
@pytest.mark.parametrize("experiment", TAILINGS_EXPERIMENTS)
def test_tailings_experiment_runs_one_batch(experiment: str, shared_data: Path, tmp_path: Path) -> None:
    overrides = [f"+experiment={experiment}", "debug=fast", "logger=csv", "data.batch_size=2"]
    metrics = train(compose_train(overrides, tmp_path), tmp_path)
    assert "val/iou_tailings_dam" in metrics
    assert "val/iou_mine" not in metrics  # the masks know tailings only: two classes
    assert not any(key.startswith("test/") for key in metrics)  # the final model trains on all but val


@pytest.mark.parametrize("experiment", TAILINGS_EXPERIMENTS)
def test_tailings_recipe_trains_then_predicts_and_evaluates_image_mask_pairs(
    experiment: str, tmp_path: Path
) -> None:
    pairs = write_pairs(tmp_path / "pairs")
    overrides = [
        f"+experiment={experiment}",
        f"data.root={pairs}",
        "data.patch_size=64",
    ]
    overrides += [
        "trainer.max_epochs=1",
        "trainer.check_val_every_n_epoch=1",
        "trainer.accelerator=cpu",
        "logger=csv",
    ]
    run = tmp_path / "run"
    train(compose_train(overrides, run), run)
    ckpt = run / "checkpoints" / "best.ckpt"
    bundle, _ = load_bundle(ckpt)
    assert bundle.class_names == ("background", "tailings_dam")
    assert bundle.model_config["arch"] == TAILINGS_EXPERIMENTS[experiment]
    assert not bundle.calibration.is_identity  # fitted on the validation places
    assert run_predict(predict_config(ckpt, pairs / "img", tmp_path / "maps", tile_size=64, overlap=0)) == 0
    evaluate = [sys.executable, "-m", "minegeo.evaluate", f"maps={tmp_path / 'maps'}", f"truth={pairs}"]
    printed = subprocess.run(evaluate, check=True, capture_output=True, text=True).stdout
    assert printed.startswith("tailings_dam: iou ")
    scores = json.loads((tmp_path / "maps" / "evaluation.json").read_text())
    assert 0.0 <= scores["tailings_dam/iou"] <= 1.0 and "tailings_dam/f1" in scores


def test_pretrained_run_predicts_after_its_weights_file_is_deleted(hub_weights: Path, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs", count=6)
    overrides = [
        "+experiment=unet_tailings_rgb",
        f"data.root={pairs}",
        "data.patch_size=64",
    ]
    overrides += ["model.weights=ResNet18_Weights.SENTINEL2_RGB_MOCO", "trainer.max_epochs=1", "logger=csv"]
    overrides += ["trainer.check_val_every_n_epoch=1", "trainer.accelerator=cpu"]
    run = tmp_path / "run"
    train(compose_train(overrides, run), run)
    hub_weights.unlink()
    ckpt = run / "checkpoints" / "best.ckpt"
    assert run_predict(predict_config(ckpt, pairs / "img", tmp_path / "maps", tile_size=64, overlap=0)) == 0
    assert len(list((tmp_path / "maps").glob("img_*.prob.tif"))) == 6


def test_checkpoint_bundle_rebuilds_model_and_preprocessing(small_world: Path, tmp_path: Path) -> None:
    overrides = [
        "+experiment=fcn_mines",
        *world_overrides(small_world),
        *SMALL["fcn_mines"],
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=1",
        "+trainer.limit_val_batches=1",
        "+trainer.limit_test_batches=1",
    ]
    train(compose_train(overrides, tmp_path), tmp_path)
    bundle, model = load_bundle(tmp_path / "fold_0" / "checkpoints" / "best.ckpt")
    assert (tmp_path / "fold_0" / "checkpoints" / "last.ckpt").is_file()  # where a killed run resumes
    for fold in ("fold_0", "fold_1"):  # each fold keeps its own metrics and logs
        assert "test/f1" in json.loads((tmp_path / fold / "metrics.json").read_text())
        assert list((tmp_path / fold).glob("csv/**/metrics.csv"))
    assert bundle.class_names == ("mine", "not_mine")
    assert bundle.patch_size == 201
    assert bundle.preprocessing.bands == SENTINEL2_L1C_BANDS  # the bands group's default
    assert bundle.geometry.output_stride == 27
    assert bundle.preprocessing.resolution_m == pytest.approx(10.0)
    assert sum(p.numel() for p in model.parameters()) == 260_098  # the paper's 259,810 + B8A's 288


def test_band_count_mismatch_is_refused_before_training(small_world: Path, tmp_path: Path) -> None:
    overrides = ["+experiment=fcn_mines", "debug=fast", *world_overrides(small_world), *SMALL["fcn_mines"]]
    overrides.append("model.in_channels=3")
    with pytest.raises(MinegeoInputError, match=r"takes 3 input channels but the data has 13 bands \(B1,"):
        train(compose_train(overrides, tmp_path), tmp_path)


def test_an_argument_the_architecture_does_not_take_is_refused_in_one_line(
    small_world: Path, tmp_path: Path
) -> None:
    overrides = ["+experiment=deeplab_mines", *world_overrides(small_world), *SMALL["deeplab_mines"]]
    overrides.append("+model.decoder_attention_type=scse")  # a U-Net argument
    expected = "^model.decoder_attention_type: DeepLabV3Plus takes no argument"
    with pytest.raises(MinegeoInputError, match=expected):
        train(compose_train(overrides, tmp_path), tmp_path)


def test_any_smp_loss_plugs_in_from_the_command_line(small_world: Path, tmp_path: Path) -> None:
    overrides = ["+experiment=unet_mines", "debug=fast", *world_overrides(small_world), *SMALL["unet_mines"]]
    overrides += [
        "task.loss._target_=segmentation_models_pytorch.losses.FocalLoss",
        "+task.loss.mode=multiclass",
    ]
    metrics = train(compose_train(overrides, tmp_path), tmp_path)
    assert 0 <= metrics["val/loss"] < float("inf")


def test_an_unknown_loss_is_refused_before_the_data_is_read(small_world: Path, tmp_path: Path) -> None:
    overrides = ["+experiment=unet_mines", *world_overrides(small_world), f"data.images={tmp_path / 'none'}"]
    overrides.append("task.loss._target_=segmentation_models_pytorch.losses.Focal")
    expected = r"^task\.loss\._target_=segmentation_models_pytorch\.losses\.Focal: no such class"
    with pytest.raises(MinegeoInputError, match=expected):
        train(compose_train(overrides, tmp_path), tmp_path)


@pytest.mark.parametrize(("group", "bands"), [("l2a", SENTINEL2_L2A_BANDS), ("rgb", ("B4", "B3", "B2"))])
def test_a_band_group_trains_on_the_demo_world_by_name(
    group: str, bands: tuple[str, ...], small_world: Path, tmp_path: Path
) -> None:
    overrides = ["+experiment=unet_mines", f"bands={group}", *world_overrides(small_world)]
    overrides += [*SMALL["unet_mines"], "trainer.max_epochs=1", "+trainer.limit_train_batches=1"]
    overrides += ["+trainer.limit_val_batches=1", "+trainer.limit_test_batches=1"]
    train(compose_train(overrides, tmp_path), tmp_path)
    bundle, _ = load_bundle(tmp_path / "checkpoints" / "best.ckpt")
    assert bundle.preprocessing.bands == bands


def test_a_band_the_files_lack_is_refused_in_one_line(tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs")  # RGB patches
    overrides = ["+experiment=unet_tailings_rgb", f"data.root={pairs}", "bands=rgbn", "logger=csv"]
    with pytest.raises(MinegeoInputError, match=r"img_\d+\.tif: missing band\(s\) B8; expected 4 bands"):
        train(compose_train(overrides, tmp_path / "run"), tmp_path / "run")


def test_a_kept_checkpoint_before_the_last_epoch_is_refused_in_one_line(tmp_path: Path) -> None:
    overrides = ["+experiment=unet_tailings_rgb", f"data.root={tmp_path / 'none'}", "logger=csv"]
    overrides += ["trainer.max_epochs=52", "trainer.check_val_every_n_epoch=30"]
    expected = r"^trainer\.max_epochs=52 .*=30: .* would keep epoch 30's weights, not the last epoch's$"
    with pytest.raises(MinegeoInputError, match=expected):
        train(compose_train(overrides, tmp_path / "run"), tmp_path / "run")
    cfg = compose_train(overrides[:-1], tmp_path / "run")  # the recipe validates at its last epoch
    assert cfg.trainer.check_val_every_n_epoch == 52
    check_kept_checkpoint(cfg)
    cfg.trainer.max_epochs = -1  # Lightning's run-until-stopped: no last epoch to miss
    check_kept_checkpoint(cfg)


def test_a_crop_the_model_cannot_take_is_refused_in_one_line(tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs")
    overrides = ["+experiment=unet_tailings_rgb", f"data.root={pairs}", "data.patch_size=64", "logger=csv"]
    overrides += ["data.crop_size=48"]  # the recipe's U-Net at a quarter resolution takes multiples of 64
    with pytest.raises(MinegeoInputError, match=r"^data\.crop_size=48: .* multiples of 64 px"):
        train(compose_train(overrides, tmp_path / "run"), tmp_path / "run")


def test_data_root_without_images_is_refused(small_world: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    overrides = [
        "+experiment=unet_mines",
        "debug=fast",
        *world_overrides(small_world),
        f"data.images={empty}",
    ]
    with pytest.raises(MinegeoInputError, match="no GeoTIFF"):
        train(compose_train(overrides, tmp_path / "run"), tmp_path / "run")


def test_unknown_experiment_name_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "minegeo.train",
            "+experiment=no_such_experiment",
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no_such_experiment" in result.stderr


@pytest.mark.slow
def test_cli_prints_run_dir_last(small_world: Path, tmp_path: Path) -> None:
    args = ["+experiment=fcn_mines", "debug=fast", *world_overrides(small_world), *SMALL["fcn_mines"]]
    args.append(f"hydra.run.dir={tmp_path}")
    result = subprocess.run([sys.executable, "-m", "minegeo.train", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"run_dir: {tmp_path}"


def test_same_seed_gives_same_metrics_on_cpu(small_world: Path, tmp_path: Path) -> None:
    overrides = [
        "+experiment=fcn_oretype",
        *world_overrides(small_world),
        *SMALL["fcn_oretype"],
        "trainer.max_epochs=2",
        "+trainer.limit_train_batches=2",
    ]
    runs = [train(compose_train(overrides, tmp_path / name), tmp_path / name) for name in ("a", "b")]
    volatile = ("wall_time_s", "best_checkpoint", "experiment")  # k-fold adds *_std keys
    first, second = ({k: v for k, v in run.items() if not k.startswith(volatile)} for run in runs)
    assert first == second
    assert "test/f1" in first
