"""Pretrained encoders: TorchGeo weights from a fabricated hub cache (no network), bands by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from minegeo.bundle import Bundle, Preprocessing, load_bundle, save_bundle
from minegeo.errors import MinegeoInputError
from minegeo.inference.runner import run_predict
from minegeo.models import smp_model
from minegeo.models.weights import (
    canonical_band,
    first_conv_for_bands,
    weights_normalization,
)
from tests.inference.predict_helpers import predict_config, write_scene

RGB_MOCO = "ResNet18_Weights.SENTINEL2_RGB_MOCO"
SETTINGS = {
    "arch": "Unet",
    "encoder": "resnet18",
    "encoder_depth": 3,
    "decoder_channels": [16, 8, 8],
    "num_classes": 2,
}


def test_torchgeo_weights_load_from_the_hub_cache(hub_weights: Path) -> None:
    state = torch.load(hub_weights)
    model = smp_model(**SETTINGS, in_channels=3, weights=RGB_MOCO, bands=["B4", "B3", "B2"])
    encoder = model.model.encoder
    assert torch.equal(encoder.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    assert torch.equal(encoder.conv1.weight, state["conv1.weight"])


def test_bands_are_matched_by_name(hub_weights: Path) -> None:
    kernel = torch.load(hub_weights)["conv1.weight"]  # weights' order: B4, B3, B2
    model = smp_model(**SETTINGS, in_channels=3, weights=RGB_MOCO, bands=["B2", "B3", "B4"])
    conv = model.model.encoder.conv1.weight
    assert torch.equal(conv[:, 0], kernel[:, 2])
    assert torch.equal(conv[:, 2], kernel[:, 0])


def test_bands_the_weights_lack_are_refused_with_their_names(hub_weights: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"has \['B8'\].*band_mismatch=adapt"):
        smp_model(**SETTINGS, in_channels=4, weights=RGB_MOCO, bands=["B4", "B3", "B2", "B8"])


def test_adapt_builds_a_first_conv_for_the_data_bands(hub_weights: Path) -> None:
    kernel = torch.load(hub_weights)["conv1.weight"]
    with pytest.warns(UserWarning, match="adapting the first convolution"):
        model = smp_model(
            **SETTINGS, in_channels=4, weights=RGB_MOCO, bands=["B8", "B4", "B3", "B2"], band_mismatch="adapt"
        )
    conv = model.model.encoder.conv1.weight
    assert conv.shape[1] == 4
    torch.testing.assert_close(conv[:, 1], kernel[:, 0] * 3 / 4)
    torch.testing.assert_close(conv[:, 0], kernel.mean(dim=1) * 3 / 4)


def test_missing_file_without_network_is_one_clear_error(hub_weights: Path) -> None:
    hub_weights.unlink()
    with pytest.raises(
        MinegeoInputError, match=r"resnet18_sentinel2_rgb_moco.*is not there and could not be downloaded"
    ):
        smp_model(**SETTINGS, in_channels=3, weights=RGB_MOCO, bands=["B4", "B3", "B2"])


def test_unknown_weights_and_wrong_encoder_are_refused() -> None:
    with pytest.raises(MinegeoInputError, match="TorchGeo has no such weights"):
        smp_model(**SETTINGS, in_channels=3, weights="ResNet18_Weights.NOT_A_MEMBER", bands=["B4"])
    with pytest.raises(MinegeoInputError, match=r"expected model\.encoder=resnet50"):
        smp_model(**SETTINGS, in_channels=3, weights="ResNet50_Weights.SENTINEL2_RGB_MOCO", bands=["B4"])


def test_weights_normalization_is_dn_over_10000_in_reflectance() -> None:
    mean, std = weights_normalization("ResNet50_Weights.SENTINEL2_ALL_MOCO", ["B8A", "B4"])
    assert mean == (0.0, 0.0)
    assert std == pytest.approx((1.0, 1.0))
    with pytest.raises(MinegeoInputError, match="not Sentinel-2 digital numbers"):
        weights_normalization("ResNet50_Weights.SENTINEL2_MI_RGB_SATLAS", ["B4"])


def test_band_names_are_canonical() -> None:
    assert [canonical_band(b) for b in ("B04", "B8a", "B12", "VV")] == ["B4", "B8A", "B12", "VV"]


def test_l1c_weights_meet_l2a_data_by_dropping_b10() -> None:
    names = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"]
    kernel = torch.arange(2 * 13, dtype=torch.float32).view(2, 13, 1, 1)
    l2a = [band for band in names if band != "B10"]
    with pytest.warns(UserWarning, match=r"lacks \['B10'\]"):
        adapted = first_conv_for_bands(kernel, names, l2a, "adapt", "x")
    assert adapted.shape == (2, 12, 1, 1)
    torch.testing.assert_close(adapted[:, 8], kernel[:, 8] * 13 / 12)  # B8A
    torch.testing.assert_close(adapted[:, 10], kernel[:, 11] * 13 / 12)  # B11


def test_checkpoint_predicts_after_the_weights_file_is_deleted(hub_weights: Path, tmp_path: Path) -> None:
    config = {"_target_": "minegeo.models.smp_model", **SETTINGS, "in_channels": 3}
    config |= {"weights": RGB_MOCO, "bands": ["B4", "B3", "B2"]}
    model = smp_model(**{k: v for k, v in config.items() if k != "_target_"})  # type: ignore[arg-type]
    pre = Preprocessing(("B4", "B3", "B2"), (0.1,) * 3, (0.05,) * 3)
    bundle = Bundle("segmentation", ("background", "tailings_dam"), 64, pre, model.geometry, config)
    assert bundle.model_config["weights"] is None  # the bundle never points at the source
    ckpt = save_and_forget(tmp_path / "model.ckpt", bundle, model, hub_weights)
    _, loaded = load_bundle(ckpt)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    scene = write_scene(tmp_path / "s.tif", np.full((3, 80, 96), 0.1), names=("B4", "B3", "B2"))
    assert run_predict(predict_config(ckpt, scene, tmp_path / "out")) == 0
    assert (tmp_path / "out" / "s.prob.tif").is_file()


def save_and_forget(path: Path, bundle: Bundle, model: torch.nn.Module, weights_file: Path) -> Path:
    save_bundle(path, bundle, model)
    weights_file.unlink()
    return path
