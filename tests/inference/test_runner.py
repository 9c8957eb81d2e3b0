"""Tests for the order of a predict run: whatever can stop it is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from minegeo.bundle import Bundle, save_bundle
from minegeo.errors import MinegeoInputError
from minegeo.inference import run_predict
from minegeo.models import DiscoveryFCN
from tests.inference.predict_helpers import PRE, predict_config, random_scene, unet_ckpt

__all__ = ["unet_ckpt"]


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    return random_scene(tmp_path / "s.tif", 64, 64)


def test_unreadable_registry_stops_the_run_before_the_scan(
    tmp_path: Path, unet_ckpt: Path, scene: Path
) -> None:
    (tmp_path / "bad.gpkg").write_bytes(b"not a geopackage")
    cfg = predict_config(unet_ckpt, scene, tmp_path / "out", postprocess=True)
    cfg.registry.concessions = str(tmp_path / "bad.gpkg")

    with pytest.raises(MinegeoInputError, match=r"bad.gpkg: not a readable vector file"):
        run_predict(cfg)
    assert not (tmp_path / "out").exists()


def test_wrong_ore_type_checkpoint_stops_the_run_before_the_scan(
    tmp_path: Path, unet_ckpt: Path, scene: Path
) -> None:
    cfg = predict_config(unet_ckpt, scene, tmp_path / "out", postprocess=True)
    cfg.oretype.ckpt = str(unet_ckpt)

    with pytest.raises(MinegeoInputError, match=r"oretype.ckpt=.*a segmentation model"):
        run_predict(cfg)
    assert not (tmp_path / "out").exists()


def test_tta_that_breaks_the_cell_grid_stops_the_run_before_the_scan(tmp_path: Path, scene: Path) -> None:
    model = DiscoveryFCN(padding="same")  # cells centred 6 px off their windows: flips move them
    config = {"_target_": "minegeo.models.DiscoveryFCN", "padding": "same"}
    ckpt = tmp_path / "fcn_same.ckpt"
    save_bundle(ckpt, Bundle("classification", ("mine", "not_mine"), 201, PRE, model.geometry, config), model)

    with pytest.raises(MinegeoInputError, match="tta=flips: flipping breaks this model's cell grid"):
        run_predict(predict_config(ckpt, scene, tmp_path / "out", tta="flips"))
    assert not (tmp_path / "out").exists()


def test_registries_are_not_read_when_post_processing_is_off(
    tmp_path: Path, unet_ckpt: Path, scene: Path
) -> None:
    (tmp_path / "bad.gpkg").write_bytes(b"not a geopackage")
    cfg = predict_config(unet_ckpt, scene, tmp_path / "out")
    cfg.registry.concessions = str(tmp_path / "bad.gpkg")

    assert run_predict(cfg) == 0
