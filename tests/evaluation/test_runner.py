"""Tests for an evaluate run: the checks from headers, and scenes scored one at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from minegeo.errors import MinegeoInputError
from minegeo.evaluation.runner import plan_evaluation, run_evaluation
from minegeo.evaluation.settings import load_settings
from tests.evaluation.rasters import ORIGIN, UTM, square, write_map, write_mask


def _evaluate(maps: Path, truth: Path, **extra: object) -> dict:
    evaluation = run_evaluation(
        plan_evaluation(load_settings({"maps": str(maps), "truth": str(truth), **extra}))
    )
    return {"pooled": evaluation.pooled, "rows": evaluation.per_scene}


def _pair(root: Path, n: int, probs: np.ndarray, mask: np.ndarray) -> None:
    write_map(root / f"maps/img_{n}.prob.tif", probs)
    write_mask(root / f"truth/mask/mask_{n}.tif", mask)


def test_known_tp_fp_fn_pool_over_scenes(tmp_path: Path) -> None:
    _pair(
        tmp_path, 0, square(10, slice(0, 4), slice(0, 4)), square(10, slice(0, 4), slice(0, 2))
    )  # 8 TP 8 FP
    _pair(
        tmp_path, 1, square(10, slice(0, 2), slice(0, 2)), square(10, slice(0, 4), slice(0, 4))
    )  # 4 TP 12 FN
    result = _evaluate(tmp_path / "maps", tmp_path / "truth")
    tally = result["pooled"]["tailings_dam"]
    assert (tally.tp, tally.fp, tally.fn) == (12, 8, 12)
    assert [row["tailings_dam/iou"] for row in result["rows"]] == [0.5, 0.25]
    assert [row["scene"] for row in result["rows"]] == ["img_0", "img_1"]


def test_map_on_another_crs_and_grid_is_resampled_onto_the_mask(tmp_path: Path) -> None:
    # the mask: 40 x 40 px in lon/lat over the UTM map's area; the dam a 20 x 20 px square
    left, bottom, right, top = transform_bounds(UTM, "EPSG:4326", 500_000, 7_999_000, 501_000, 8_000_000)
    size = (right - left) / 40, (top - bottom) / 40
    lonlat = from_origin(left, top, *size)
    mask = square(40, slice(10, 30), slice(10, 30)).astype(np.uint8)
    write_mask(tmp_path / "truth/mask/mask_0.tif", mask, crs="EPSG:4326", transform=lonlat)
    # the map: 10 m UTM pixels, p = 1 where the mask's square falls
    rows, cols = np.mgrid[0:100, 0:100]
    x, y = 500_000 + 10 * cols + 5, 8_000_000 - 10 * rows - 5
    lon, lat = rasterio.warp.transform(UTM, "EPSG:4326", x.ravel(), y.ravel())
    col = ((np.array(lon) - left) / size[0]).reshape(100, 100)
    row = ((top - np.array(lat)) / size[1]).reshape(100, 100)
    probs = ((col >= 10) & (col < 30) & (row >= 10) & (row < 30)).astype(np.float32)
    write_map(tmp_path / "maps/img_0.prob.tif", probs, transform=ORIGIN)
    iou = _evaluate(tmp_path / "maps", tmp_path / "truth")["rows"][0]["tailings_dam/iou"]
    # one mask pixel misplaced along each edge would give about 0.82
    assert iou >= 0.95


def test_no_mask_for_any_map_is_refused(tmp_path: Path) -> None:
    write_map(tmp_path / "maps/img_0.prob.tif", square(4, slice(0, 1), slice(0, 1)))
    (tmp_path / "truth").mkdir()
    with pytest.raises(MinegeoInputError, match=r"truth=.*truth: no mask for any map"):
        plan_evaluation(load_settings({"maps": str(tmp_path / "maps"), "truth": str(tmp_path / "truth")}))


def test_maps_without_mask_are_skipped_and_listed(tmp_path: Path) -> None:
    _pair(tmp_path, 0, square(4, slice(0, 1), slice(0, 1)), np.zeros((4, 4)))
    write_map(tmp_path / "maps/img_1.prob.tif", square(4, slice(0, 1), slice(0, 1)))
    plan = plan_evaluation(load_settings({"maps": str(tmp_path / "maps"), "truth": str(tmp_path / "truth")}))
    assert [pair.prob_map.stem for pair in plan.pairs] == ["img_0"]
    assert plan.unmatched == [tmp_path / "maps/img_1.prob.tif"]


def test_truth_that_is_neither_folder_nor_vector_is_refused(tmp_path: Path) -> None:
    write_map(tmp_path / "maps/img_0.prob.tif", square(4, slice(0, 1), slice(0, 1)))
    mask = write_mask(tmp_path / "mask_0.tif", np.zeros((4, 4)))
    with pytest.raises(MinegeoInputError, match=r"mask_0\.tif: not a folder or a vector file"):
        plan_evaluation(load_settings({"maps": str(tmp_path / "maps"), "truth": str(mask)}))


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    with pytest.raises(MinegeoInputError, match=r"out=.*out: is a file"):
        plan_evaluation(load_settings({"maps": "m", "truth": "t", "out": str(tmp_path / "out")}))


def test_maps_made_from_the_real_masks_score_iou_one(shared_data: Path, tmp_path: Path) -> None:
    masks = sorted((shared_data / "tailings_seg/mask").glob("mask_*.tif"))[:4]
    for mask in masks:
        with rasterio.open(mask) as src:
            values, crs, transform = src.read(1), src.crs, src.transform
        stem = mask.stem.replace("mask_", "img_")
        write_map(
            tmp_path / f"{stem}.prob.tif",
            (values == 1).astype(np.float32),
            dtype="uint8",
            crs=crs,
            transform=transform,
        )
    result = _evaluate(tmp_path, shared_data / "tailings_seg")
    tally = result["pooled"]["tailings_dam"]
    assert tally.tp > 0 and tally.fp == tally.fn == 0
    assert tally.sites_missed == tally.false_detections == 0
    assert all(row["tailings_dam/iou"] in (1.0, None) for row in result["rows"])
