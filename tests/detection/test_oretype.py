"""Ore-type stage on a tiny 12-band scene with a tiny OreTypeCNN checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
from pyproj import Transformer
from rasterio.transform import from_origin
from torch import Tensor, nn

from minegeo import ORETYPE_CLASSES, SENTINEL2_BANDS
from minegeo.bundle import Bundle, Preprocessing, save_bundle
from minegeo.detection.oretype import predict_ore_type, run_ore_type_stage
from minegeo.errors import MinegeoInputError
from minegeo.models.oretype import OreTypeCNN

SCENE_TRANSFORM = from_origin(500_000.0, 8_000_000.0, 10.0, 10.0)


def ore_bundle() -> Bundle:
    pre = Preprocessing(bands=SENTINEL2_BANDS, mean=(0.0,) * 12, std=(1.0,) * 12)
    return Bundle(
        kind="classification",
        class_names=ORETYPE_CLASSES,
        patch_size=21,
        preprocessing=pre,
        geometry=OreTypeCNN().geometry,
        model_config={"_target_": "minegeo.models.oretype.OreTypeCNN", "patch_size": 21},
    )


@pytest.fixture()
def scene(tmp_path: Path) -> Path:
    """A 40x40 scene of ones (normalised input 1 inside, 0 where padded)."""
    path = tmp_path / "s.tif"
    profile = {"driver": "GTiff", "width": 40, "height": 40, "count": 12, "dtype": "float32"}
    profile.update(crs="EPSG:32723", transform=SCENE_TRANSFORM, nodata=np.nan)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((12, 40, 40), np.float32))
        dst.descriptions = SENTINEL2_BANDS
    return path


def detections_at(pixels: list[tuple[int, int]], scene: str = "s") -> gpd.GeoDataFrame:
    """Detections centred on scene pixels (row, col)."""
    xs, ys = rasterio.transform.xy(SCENE_TRANSFORM, [p[0] for p in pixels], [p[1] for p in pixels])
    lons, lats = Transformer.from_crs("EPSG:32723", "EPSG:4326", always_xy=True).transform(xs, ys)
    frame = {"id": [f"d{i}" for i in range(len(pixels))], "scene": scene, "lon": lons, "lat": lats}
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")


class Recorder(nn.Module):
    """Stand-in classifier: records its inputs, always scores class 1 highest."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.inputs: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        self.inputs.append(x)
        return torch.tensor([[0.0, 2.0, 0.0]]).repeat(len(x), 1)


def test_windows_are_batched(scene: Path) -> None:
    model = Recorder()
    detections = detections_at([(10, 10), (20, 20), (5, 30), (30, 5), (15, 25)])

    classes, probs = predict_ore_type(detections, {"s": scene}, ore_bundle(), model, batch_size=2)

    assert len(model.inputs) == math.ceil(5 / 2)
    assert [len(x) for x in model.inputs] == [2, 2, 1]
    assert list(classes) == [1] * 5
    assert probs == pytest.approx([np.exp(2) / (np.exp(2) + 2)] * 5)


def test_window_off_the_scene_is_padded_with_zeros(scene: Path) -> None:
    model = Recorder()

    predict_ore_type(detections_at([(0, 39)]), {"s": scene}, ore_bundle(), model)

    window = model.inputs[0][0]
    assert window.shape == (12, 21, 21)
    assert window[:, 10:, :11].eq(1).all()  # rows 0.. and cols ..39 of the scene
    assert window.sum() == 12 * 11 * 11


def save_ore_checkpoint(path: Path, favourite: str) -> Path:
    """An OreTypeCNN checkpoint whose output always favours one class."""
    model = OreTypeCNN()
    last = model.classifier[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([5.0 if name == favourite else 0.0 for name in ORETYPE_CLASSES]))
    save_bundle(path, ore_bundle(), model)
    return path


def test_no_ore_detections_are_dropped(tmp_path: Path, scene: Path) -> None:
    ckpt = save_ore_checkpoint(tmp_path / "ore.ckpt", "no_ore")

    kept, dropped = run_ore_type_stage(detections_at([(10, 10), (20, 20)]), {"s": scene}, ckpt)

    assert kept.empty and "ore_type" in kept.columns
    assert list(dropped["ore_type"]) == ["no_ore", "no_ore"]


def test_kept_detections_carry_ore_type_and_probability(tmp_path: Path, scene: Path) -> None:
    ckpt = save_ore_checkpoint(tmp_path / "ore.ckpt", "high_impact")

    kept, dropped = run_ore_type_stage(detections_at([(10, 10)]), {"s": scene}, ckpt, batch_size=8)

    assert dropped.empty
    assert list(kept["ore_type"]) == ["high_impact"]
    assert kept["ore_type_prob"].iloc[0] == pytest.approx(np.exp(5) / (np.exp(5) + 2), rel=1e-4)


def test_unknown_drop_class_is_refused(tmp_path: Path, scene: Path) -> None:
    ckpt = save_ore_checkpoint(tmp_path / "ore.ckpt", "no_ore")

    with pytest.raises(MinegeoInputError, match="drop_classes"):
        run_ore_type_stage(detections_at([(10, 10)]), {"s": scene}, ckpt, drop_classes=["gold"])


def test_detection_of_unknown_scene_is_refused(scene: Path) -> None:
    with pytest.raises(MinegeoInputError, match="no scene file"):
        predict_ore_type(detections_at([(10, 10)], scene="elsewhere"), {"s": scene}, ore_bundle(), Recorder())
