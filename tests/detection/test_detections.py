"""Detections from hand-made probability rasters (UTM 10 m, EPSG:4326, coarse FCN grid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minegeo.bundle import Bundle, ModelGeometry, Preprocessing
from minegeo.detection.detections import DETECTION_COLUMNS, detect_scene
from minegeo.errors import MinegeoInputError

DETECT = {
    "threshold": 0.6,
    "high_threshold": None,
    "classes": None,
    "min_area_m2": 0.0,
    "merge_distance_m": None,
}
SEG_CLASSES = ("background", "mine", "tailings_dam")
UTM = from_origin(500_000.0, 8_000_000.0, 10.0, 10.0)


def make_bundle(
    kind: str = "segmentation", classes: tuple[str, ...] = SEG_CLASSES, stride: int = 1
) -> Bundle:
    """A bundle that only describes classes and geometry (no weights needed here)."""
    pre = Preprocessing(bands=("B2",), mean=(0.0,), std=(1.0,))
    geometry = ModelGeometry(output_stride=stride, receptive_field=201 if stride > 1 else 1)
    return Bundle(kind=kind, class_names=classes, patch_size=201, preprocessing=pre, geometry=geometry)  # type: ignore[arg-type]


def write_prob(
    path: Path,
    probs: np.ndarray,
    names: tuple[str, ...] = SEG_CLASSES,
    transform: rasterio.Affine = UTM,
    crs: str = "EPSG:32723",
    as_uint8: bool = False,
) -> Path:
    """A probability raster in the engine's layout (one named band per class)."""
    profile = {"driver": "GTiff", "width": probs.shape[2], "height": probs.shape[1], "count": probs.shape[0]}
    profile.update(crs=crs, transform=transform)
    if as_uint8:
        data = np.where(np.isnan(probs), 255, np.round(np.nan_to_num(probs) * 254)).astype(np.uint8)
        profile.update(dtype="uint8", nodata=255)
    else:
        data = probs.astype(np.float32)
        profile.update(dtype="float32", nodata=np.nan)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = names
        if as_uint8:
            dst.scales = [1 / 254] * probs.shape[0]
    return path


def segmentation_probs(mine: np.ndarray, dam: np.ndarray | None = None) -> np.ndarray:
    """Three-class probabilities from a mine (and dam) probability map."""
    dam = np.zeros_like(mine) if dam is None else dam
    return np.stack([1.0 - mine - dam, mine, dam]).astype(np.float32)


def test_component_becomes_polygon_with_stats(tmp_path: Path) -> None:
    mine = np.zeros((20, 20), np.float32)
    mine[2:6, 3:8] = 0.7
    mine[3, 4] = 0.9
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine))

    frame = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT)

    assert list(frame.columns[:-1]) == list(DETECTION_COLUMNS)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["id"] == "s-00000" and row["scene"] == "s" and row["class"] == "mine"
    assert row["n_cells"] == 20
    assert row["max_prob"] == pytest.approx(0.9)
    assert row["mean_prob"] == pytest.approx((19 * 0.7 + 0.9) / 20)
    assert row["area_m2"] == pytest.approx(20 * 100.0, rel=2e-3)  # UTM scale factor ~0.9996
    assert frame.geometry.iloc[0].geom_type == "Polygon"
    assert frame.crs.to_epsg() == 4326


def test_class_is_argmax_among_detection_classes(tmp_path: Path) -> None:
    mine = np.zeros((10, 10), np.float32)
    dam = np.zeros((10, 10), np.float32)
    mine[1:4, 1:4], dam[1:4, 1:4] = 0.3, 0.5
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine, dam))

    frame = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT)

    assert list(frame["class"]) == ["tailings_dam"]
    assert frame["max_prob"].iloc[0] == pytest.approx(0.8)


def test_area_in_square_metres_for_geographic_raster(tmp_path: Path) -> None:
    mine = np.zeros((10, 10), np.float32)
    mine[0:10, 0:10] = 0.8
    step = 1e-3  # about 111 m at the equator
    transform = from_origin(-45.0, 0.0005, step, step)
    prob = write_prob(tmp_path / "g.prob.tif", segmentation_probs(mine), transform=transform, crs="EPSG:4326")

    frame = detect_scene(prob, tmp_path / "g.tif", make_bundle(), DETECT)

    side = 0.01 * 111_320.0
    assert frame["area_m2"].iloc[0] == pytest.approx(side * side * 0.9933, rel=5e-3)  # WGS84 flattening
    assert frame["lon"].iloc[0] == pytest.approx(-44.995)
    assert frame["lat"].iloc[0] == pytest.approx(-0.0045)


def test_components_across_strip_borders_are_merged(tmp_path: Path) -> None:
    mine = np.zeros((30, 12), np.float32)
    mine[2:25, 5] = 0.8  # a vertical line crossing many 3-row strips
    mine[10, 6:9] = 0.8
    mine[25, 4] = 0.8  # diagonal neighbour across a strip border
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine))

    whole = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT)
    strips = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT, strip_pixels=3 * 12 * 3)

    assert len(strips) == len(whole) == 1
    assert strips["n_cells"].iloc[0] == 27
    assert strips.geometry.iloc[0].area == pytest.approx(whole.geometry.iloc[0].area)
    assert strips["id"].iloc[0] == whole["id"].iloc[0]


def test_dual_threshold_drops_isolated_weak_pixels(tmp_path: Path) -> None:
    mine = np.zeros((12, 12), np.float32)
    mine[1, 1] = 0.7  # isolated, below the high threshold
    mine[5, 5] = 0.95  # isolated, above it
    mine[9, 8:10] = 0.7  # two neighbours: kept at the plain threshold
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine))
    cfg = {**DETECT, "high_threshold": 0.9}

    single = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT)
    dual = detect_scene(prob, tmp_path / "s.tif", make_bundle(), cfg, strip_pixels=3 * 12 * 2)

    assert len(single) == 3
    assert sorted(dual["n_cells"]) == [1, 2]
    assert dual["max_prob"].max() == pytest.approx(0.95)


def test_isolation_sees_neighbours_across_strip_borders(tmp_path: Path) -> None:
    mine = np.zeros((8, 8), np.float32)
    mine[3:5, 4] = 0.7  # a pair split by the border between rows 3 and 4
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine))

    frame = detect_scene(
        prob, tmp_path / "s.tif", make_bundle(), {**DETECT, "high_threshold": 0.9}, strip_pixels=3 * 8 * 4
    )

    assert list(frame["n_cells"]) == [2]


def test_uint8_raster_is_unscaled(tmp_path: Path) -> None:
    mine = np.zeros((10, 10), np.float32)
    mine[2:4, 2:4] = 0.8
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine), as_uint8=True)

    frame = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT)

    assert frame["max_prob"].iloc[0] == pytest.approx(0.8, abs=1 / 254)


def test_all_nodata_raster_gives_empty_frame(tmp_path: Path) -> None:
    probs = np.full((3, 10, 10), np.nan, np.float32)
    prob = write_prob(tmp_path / "s.prob.tif", probs)

    frame = detect_scene(prob, tmp_path / "s.tif", make_bundle(), DETECT)

    assert frame.empty and list(frame.columns[:-1]) == list(DETECTION_COLUMNS)


def test_min_area_drops_small_components(tmp_path: Path) -> None:
    mine = np.zeros((10, 10), np.float32)
    mine[1, 1:3] = 0.8
    mine[5:8, 5:8] = 0.8
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine))

    frame = detect_scene(prob, tmp_path / "s.tif", make_bundle(), {**DETECT, "min_area_m2": 500.0})

    assert list(frame["n_cells"]) == [9]


def fcn_raster(tmp_path: Path, mine: np.ndarray) -> Path:
    """A coarse discovery-FCN grid: 270 m cells (27 x 10 m scene pixels)."""
    probs = np.stack([mine, 1.0 - mine]).astype(np.float32)
    transform = from_origin(500_000.0, 8_000_000.0, 270.0, 270.0)
    return write_prob(tmp_path / "f.prob.tif", probs, names=("mine", "not_mine"), transform=transform)


def test_fcn_cells_become_weighted_site_points(tmp_path: Path) -> None:
    mine = np.zeros((6, 6), np.float32)
    mine[1, 1], mine[2, 2] = 0.7, 0.9  # diagonal neighbours: one site
    mine[4, 5] = 0.8
    prob = fcn_raster(tmp_path, mine)
    bundle = make_bundle("classification", ("mine", "not_mine"), stride=27)

    frame = detect_scene(prob, tmp_path / "f.tif", bundle, DETECT)

    assert list(frame["n_cells"]) == [2, 1]
    assert set(frame.geometry.geom_type) == {"Point"}
    assert frame["area_m2"].iloc[0] == pytest.approx(2 * 270.0**2, rel=2e-3)
    assert frame["cell_m"].iloc[0] == pytest.approx(270.0, rel=1e-3)
    expected = rasterio.transform.xy(
        from_origin(500_000.0, 8_000_000.0, 270.0, 270.0),
        (1 * 0.7 + 2 * 0.9) / 1.6,
        (1 * 0.7 + 2 * 0.9) / 1.6,
    )
    utm = frame.to_crs("EPSG:32723").geometry.iloc[0]
    assert (utm.x, utm.y) == pytest.approx(expected, abs=0.01)


def test_fcn_merge_distance_joins_nearby_cells(tmp_path: Path) -> None:
    mine = np.zeros((6, 6), np.float32)
    mine[1, 1], mine[1, 3] = 0.8, 0.8  # 540 m apart, not 8-connected
    prob = fcn_raster(tmp_path, mine)
    bundle = make_bundle("classification", ("mine", "not_mine"), stride=27)

    apart = detect_scene(prob, tmp_path / "f.tif", bundle, DETECT)
    merged = detect_scene(prob, tmp_path / "f.tif", bundle, {**DETECT, "merge_distance_m": 600.0})

    assert len(apart) == 2
    assert list(merged["n_cells"]) == [2]


def test_unknown_detection_class_is_refused(tmp_path: Path) -> None:
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(np.zeros((4, 4), np.float32)))

    with pytest.raises(MinegeoInputError, match=r"detect\.classes"):
        detect_scene(prob, tmp_path / "s.tif", make_bundle(), {**DETECT, "classes": ["quarry"]})


def test_high_threshold_below_threshold_is_refused(tmp_path: Path) -> None:
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(np.zeros((4, 4), np.float32)))

    with pytest.raises(MinegeoInputError, match="high_threshold"):
        detect_scene(prob, tmp_path / "s.tif", make_bundle(), {**DETECT, "high_threshold": 0.5})


def test_detections_are_named_after_the_probability_raster(tmp_path: Path) -> None:
    mine = np.zeros((6, 6), np.float32)
    mine[2, 2] = 0.8
    prob = write_prob(tmp_path / "mosaic.prob.tif", segmentation_probs(mine))

    frame = detect_scene(prob, tmp_path / "mosaic-0000000000-0000000000.tif", make_bundle(), DETECT)

    assert list(frame["scene"]) == ["mosaic"] and list(frame["id"]) == ["mosaic-00000"]
