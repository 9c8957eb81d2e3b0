"""Tests for the typed predict settings: every bad value is one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from minegeo.config import CONFIG_DIR
from minegeo.errors import MinegeoInputError
from minegeo.inference.settings import DetectParams, PredictSettings, load_settings


def composed(**overrides: object) -> DictConfig:
    """conf/predict.yaml as Hydra composes it (its own keys only), with the run's paths."""
    cfg = OmegaConf.load(CONFIG_DIR / "predict.yaml")
    assert isinstance(cfg, DictConfig)
    for key in ("defaults", "hydra"):
        cfg.pop(key)
    return OmegaConf.merge(cfg, {"ckpt": "m.ckpt", "input": "scenes", "out": "maps"}, overrides)  # type: ignore[return-value]


def test_predict_yaml_matches_the_schema() -> None:
    settings = load_settings(composed())

    assert isinstance(settings, PredictSettings)
    assert settings.tile_size == 512 and settings.detect.threshold == 0.6 and settings.change == "auto"
    assert settings.checkpoints == ["m.ckpt"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tile_size": -5}, "tile_size=-5: expected a whole number >= 1"),
        ({"tile_size": 0}, "tile_size=0: expected a whole number >= 1"),
        ({"tile_size": "abc"}, "tile_size=abc: expected a whole number"),
        ({"overlap": -300}, r"overlap=-300: expected a whole number from 0 to tile_size/2 \(256\)"),
        ({"overlap": 512}, "overlap=512: expected a whole number from 0 to tile_size/2"),
        ({"fcn_cells": 0}, "fcn_cells=0: expected a whole number >= 1"),
        ({"strip_mb": 0}, "strip_mb=0: expected a whole number >= 1"),
        ({"batch_size": 0}, "batch_size=0: expected a whole number >= 1"),
        ({"detect": {"threshold": 2}}, r"detect.threshold=2.0: expected a value in \(0, 1\]"),
        ({"detect": {"threshold": 0}}, r"detect.threshold=0.0: expected a value in \(0, 1\]"),
        ({"detect": {"high_threshold": 0.3}}, r"detect.high_threshold=0.3: expected a value from"),
        ({"detect": {"min_area_m2": -1}}, "detect.min_area_m2=-1.0: expected a number >= 0"),
        ({"tta": "sideways"}, "tta=sideways: expected one of none, flips, d4"),
        ({"dtype": "int16"}, "dtype=int16: expected one of uint8, float32"),
        ({"compress": "jpeg"}, "compress=jpeg: expected one of deflate, lzw, zstd, none"),
        ({"precision": "8-bit"}, "precision=8-bit: expected one of 32-true"),
        ({"input_scale": 0}, "input_scale=0.0: expected a number > 0, or null"),
        ({"change": "maybe"}, "change=maybe: expected one of auto, true, false"),
        ({"mosaic": "maybe"}, "mosaic=maybe: expected true or false"),
        ({"oretype": {"batch_size": 0}}, "oretype.batch_size=0: expected a whole number >= 1"),
        ({"registry": {"max_distance_m": -5}}, "registry.max_distance_m=-5.0: expected a number >= 0"),
        ({"report": {"top_n": -1}}, "report.top_n=-1: expected a whole number >= 0"),
        ({"gdal": {"threads": 0}}, "gdal.threads=0: expected a whole number >= 1"),
        ({"ckpt": []}, r"ckpt=\[\]: expected a checkpoint path, or a list of them"),
        ({"tile_sise": 5}, "tile_sise: not a predict setting"),
    ],
)
def test_bad_setting_is_one_line_naming_key_and_value(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(MinegeoInputError, match=f"^{message}") as caught:
        load_settings(composed(**overrides))

    assert "\n" not in str(caught.value)


def test_missing_checkpoint_says_so() -> None:
    cfg = composed()
    cfg.ckpt = "???"

    with pytest.raises(MinegeoInputError, match=r"^ckpt is missing: give it on the command line"):
        load_settings(cfg)


def test_ensemble_checkpoints_are_a_list() -> None:
    assert load_settings(composed(ckpt=["a.ckpt", "b.ckpt"])).checkpoints == ["a.ckpt", "b.ckpt"]


def test_loaded_settings_pass_through() -> None:
    settings = load_settings(composed())

    assert load_settings(settings) is settings


def test_detect_params_check_themselves() -> None:
    with pytest.raises(MinegeoInputError, match=r"detect.threshold=1.5"):
        DetectParams(threshold=1.5)


def test_schema_is_in_hydra_config_store() -> None:
    from hydra.core.config_store import ConfigStore

    assert "predict_schema.yaml" in ConfigStore.instance().list("/")


def test_settings_load_without_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import sys, minegeo.inference.preflight; assert 'torch' not in sys.modules, 'torch loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
