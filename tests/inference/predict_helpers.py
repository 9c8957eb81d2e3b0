"""Tiny scenes and untrained checkpoints for the predict tests (import the fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from omegaconf import DictConfig, OmegaConf

from minegeo import SENTINEL2_BANDS
from minegeo.bundle import Bundle, Preprocessing, save_bundle
from minegeo.config import CONFIG_DIR
from minegeo.models import DiscoveryFCN, smp_model

PRE = Preprocessing(bands=SENTINEL2_BANDS, mean=(0.0,) * 12, std=(1.0,) * 12)
TRANSFORM = Affine(10, 0, 500_000, 0, -10, 7_000_000)


def write_scene(
    path: Path, data: np.ndarray, transform: Affine = TRANSFORM, names: tuple[str, ...] = SENTINEL2_BANDS
) -> Path:
    """A float32 GeoTIFF with band descriptions, nodata NaN."""
    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": "float32",
        "crs": "EPSG:32723",
        "transform": transform,
        "nodata": float("nan"),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(np.float32))
        dst.descriptions = names
    return path


def random_scene(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """Random reflectance with a nodata corner."""
    data = np.random.default_rng(seed).random((12, height, width), dtype=np.float32)
    data[:, :10, :10] = np.nan
    return write_scene(path, data)


def random_scenes(folder: Path, count: int, height: int, width: int) -> Path:
    """``count`` random scenes ``s0.tif``... (seeds 0, 1, ...) in a new ``folder``."""
    folder.mkdir()
    for seed in range(count):
        random_scene(folder / f"s{seed}.tif", height, width, seed=seed)
    return folder


@pytest.fixture(scope="session")
def fcn_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained valid-padding discovery FCN."""
    torch.manual_seed(0)
    model = DiscoveryFCN(padding="valid")
    config = {"_target_": "minegeo.models.DiscoveryFCN", "padding": "valid"}
    path = tmp_path_factory.mktemp("ckpt") / "fcn.ckpt"
    save_bundle(path, Bundle("classification", ("mine", "not_mine"), 201, PRE, model.geometry, config), model)
    return path


@pytest.fixture(scope="session")
def unet_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained, small U-Net."""
    torch.manual_seed(0)
    settings = {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [32, 16, 8]}
    config = {"_target_": "minegeo.models.smp_model", **settings}
    model = smp_model(**settings)  # type: ignore[arg-type]
    path = tmp_path_factory.mktemp("ckpt") / "unet.ckpt"
    classes = ("background", "mine", "tailings_dam")
    save_bundle(path, Bundle("segmentation", classes, 64, PRE, model.geometry, config), model)
    return path


def predict_config(ckpt: Path | list[str], input_: Path | str, out: Path, **overrides: object) -> DictConfig:
    """conf/predict.yaml with the run's paths, post-processing and progress bars off.

    Outputs are float32, so that tests compare probabilities exactly; uint8 tests say so.
    """
    cfg = OmegaConf.load(CONFIG_DIR / "predict.yaml")
    assert isinstance(cfg, DictConfig)
    cfg.pop("defaults")
    cfg.pop("hydra")
    base = {
        "ckpt": str(ckpt) if isinstance(ckpt, Path) else ckpt,
        "input": str(input_),
        "out": str(out),
        "postprocess": False,
        "progress": False,
        "tile_size": 64,
        "overlap": 16,
        "fcn_cells": 4,
        "dtype": "float32",
    }
    return OmegaConf.merge(cfg, base, overrides)  # type: ignore[return-value]
