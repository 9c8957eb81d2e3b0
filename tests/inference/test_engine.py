"""Tests for the streaming engine (through run_predict, post-processing off)."""

from __future__ import annotations

import ctypes
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine

from minegeo.bundle import Bundle, load_bundle, save_bundle
from minegeo.errors import MinegeoInputError
from minegeo.inference import run_predict
from minegeo.inference.runner import gdal_options
from minegeo.models import DiscoveryFCN
from tests.inference.predict_helpers import (
    PRE,
    TRANSFORM,
    fcn_ckpt,
    predict_config,
    random_scene,
    random_scenes,
    unet_ckpt,
    write_scene,
)

__all__ = ["fcn_ckpt", "unet_ckpt"]


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def test_fcn_grid_equals_model_on_every_window(tmp_path: Path, fcn_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 215 + 27 * 6, 215 + 27 * 5)
    assert run_predict(predict_config(fcn_ckpt, scene, tmp_path / "out")) == 0
    got = _read(tmp_path / "out" / "s.prob.tif")
    _, model = load_bundle(fcn_ckpt)
    with rasterio.open(scene) as src:
        image = torch.from_numpy(np.nan_to_num(src.read()))[None]
    with torch.no_grad():
        for i, j in [(0, 0), (3, 2), (6, 5), (1, 4)]:
            window = image[..., 27 * i : 27 * i + 215, 27 * j : 27 * j + 215]
            expected = model(window).softmax(1)[0, :, 0, 0].numpy()
            np.testing.assert_allclose(got[:, i, j], expected, atol=1e-5)
    assert got.shape == (2, 7, 6)


def test_fcn_scenes_whose_blocks_differ_share_a_run(tmp_path: Path, fcn_ckpt: Path) -> None:
    folder = tmp_path / "scenes"
    folder.mkdir()
    random_scene(folder / "a.tif", 215 + 27 * 9, 215 + 27 * 9)  # 10 cells a side: blocks of 4
    random_scene(folder / "b.tif", 215 + 27 * 4, 215 + 27 * 4, seed=1)  # 5 cells: blocks of 3
    assert run_predict(predict_config(fcn_ckpt, folder, tmp_path / "both", batch_size=3)) == 0
    for name in ("a", "b"):
        run_predict(predict_config(fcn_ckpt, folder / f"{name}.tif", tmp_path / name, batch_size=3))
        alone, both = (
            _read(tmp_path / name / f"{name}.prob.tif"),
            _read(tmp_path / "both" / f"{name}.prob.tif"),
        )
        np.testing.assert_array_equal(both, alone)


def test_same_padded_fcn_predicts_a_single_201_px_patch_as_in_training(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DiscoveryFCN(padding="same").eval()
    config = {"_target_": "minegeo.models.DiscoveryFCN", "padding": "same"}
    ckpt = tmp_path / "fcn_same.ckpt"
    save_bundle(ckpt, Bundle("classification", ("mine", "not_mine"), 201, PRE, model.geometry, config), model)
    scene = random_scene(tmp_path / "patch.tif", 201, 201)
    random_scene(tmp_path / "big.tif", 500, 400)  # in the same run: blocks with a halo cell

    assert run_predict(predict_config(ckpt, tmp_path / "*.tif", tmp_path / "out")) == 0

    probs = _read(tmp_path / "out" / "patch.prob.tif")
    with rasterio.open(scene) as src:
        raw = torch.from_numpy(src.read().astype(np.float32))[None]
    with torch.no_grad():
        expected = model(torch.nan_to_num(raw)).softmax(1)[0].numpy()
    assert probs.shape == expected.shape == (2, 1, 1)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert _read(tmp_path / "out" / "big.prob.tif").shape == (2, 11, 7)


def test_fcn_grid_is_georeferenced_on_cell_centres(tmp_path: Path, fcn_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 300, 300)
    run_predict(predict_config(fcn_ckpt, scene, tmp_path / "out"))
    with rasterio.open(tmp_path / "out" / "s.prob.tif") as src:
        # cell 0 is centred on the 215 px window centre (107.5 px), cells are 27 px wide
        assert src.transform == TRANSFORM * Affine.translation(94, 94) * Affine.scale(27)


def test_output_carries_names_crs_and_tags(tmp_path: Path, fcn_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 260, 260)
    run_predict(predict_config(fcn_ckpt, scene, tmp_path / "out"))
    with rasterio.open(tmp_path / "out" / "s.prob.tif") as src:
        assert src.descriptions == ("mine", "not_mine")
        assert src.crs.to_epsg() == 32723
        tags = src.tags()
        assert {"checkpoint_hash", "config_hash", "input_hash", "bands", "classes", "minegeo_version"} <= set(
            tags
        )
        assert "created" not in tags  # a date would make every run's bytes differ


def test_segmentation_blend_has_no_seams(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = write_scene(tmp_path / "flat.tif", np.full((12, 160, 160), 0.3, dtype=np.float32))
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out", tile_size=64, overlap=16))
    probs = _read(tmp_path / "out" / "flat.prob.tif")
    # tiles start every 48 px: the jump across a tile border is no larger than inside a tile
    jumps = np.abs(np.diff(probs, axis=2)).max(axis=(0, 1))
    borders = [47, 48, 63, 64, 95, 96, 111, 112]
    inside = np.delete(jumps, borders)
    assert jumps[borders].max() <= inside.max() + 1e-4


def test_nodata_in_is_nodata_out(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 100, 90)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out"))
    probs = _read(tmp_path / "out" / "s.prob.tif")
    assert np.isnan(probs[:, :10, :10]).all()
    assert np.isfinite(probs[:, 10:, :]).all()


def test_probabilities_sum_to_one(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 100, 90)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out"))
    probs = _read(tmp_path / "out" / "s.prob.tif")[:, 10:, 10:]
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)


def test_all_nodata_scene_gives_all_nodata_output(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = write_scene(tmp_path / "empty.tif", np.full((12, 70, 70), np.nan, dtype=np.float32))
    assert run_predict(predict_config(unet_ckpt, scene, tmp_path / "out")) == 0
    assert np.isnan(_read(tmp_path / "out" / "empty.prob.tif")).all()


def test_three_class_uint8_map_is_gray_not_rgb(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out", dtype="uint8"))
    with rasterio.open(tmp_path / "out" / "s.prob.tif") as src:
        assert src.colorinterp[0] == rasterio.enums.ColorInterp.gray
        assert rasterio.enums.ColorInterp.red not in src.colorinterp  # bands are classes, not colours


def test_uint8_output_is_scaled(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 70, 70)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "f32"))
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "u8", dtype="uint8"))
    with rasterio.open(tmp_path / "u8" / "s.prob.tif") as src:
        scaled, nodata, scale = src.read(), src.nodata, src.scales[0]
    assert nodata == 255 and (scaled[:, :10, :10] == 255).all()
    np.testing.assert_allclose(
        scaled[:, 10:, 10:] * scale,
        _read(tmp_path / "f32" / "s.prob.tif")[:, 10:, 10:],
        atol=0.5 / 254 + 1e-6,
    )


def test_missing_band_skips_scene_naming_the_bands(
    tmp_path: Path, unet_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rgb = write_scene(tmp_path / "rgb.tif", np.zeros((3, 64, 64)), names=("B2", "B3", "B4"))
    assert run_predict(predict_config(unet_ckpt, rgb, tmp_path / "out")) == 2
    assert "rgb.tif: missing band(s) B1,B5,B6,B7,B8,B9,B10,B11,B12" in capsys.readouterr().err


def test_resolution_mismatch_names_both(
    tmp_path: Path, unet_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coarse = write_scene(tmp_path / "c.tif", np.zeros((12, 64, 64)), transform=Affine(20, 0, 0, 0, -20, 0))
    assert run_predict(predict_config(unet_ckpt, coarse, tmp_path / "out")) == 2
    assert "pixel size 20.00 m, but the checkpoint was trained at 10.00 m" in capsys.readouterr().err


def _digital_numbers(path: Path, reflectance: np.ndarray, scale_tag: bool) -> Path:
    """``reflectance`` as a uint16 scene of digital numbers (x 10000, nodata 0)."""
    digital = np.nan_to_num(reflectance * 10000, nan=0).round().astype(np.uint16)
    with rasterio.open(write_scene(tmp := path.with_suffix(".f.tif"), reflectance)) as src:
        profile = {**src.profile, "dtype": "uint16", "nodata": 0}
        names = src.descriptions
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(digital)
        dst.descriptions = names
        if scale_tag:
            dst.scales = (1e-4,) * len(names)
    tmp.unlink()
    return path


def test_uint16_digital_numbers_with_a_scale_tag_predict_like_reflectance(
    tmp_path: Path, unet_ckpt: Path
) -> None:
    reflectance = (0.01 + np.random.default_rng(0).random((12, 64, 64), dtype=np.float32)).round(4)
    reflectance[:, :10, :10] = np.nan  # digital number 0: nodata
    for folder in ("f", "d"):
        (tmp_path / folder).mkdir()
    write_scene(tmp_path / "f" / "s.tif", reflectance)
    _digital_numbers(tmp_path / "d" / "s.tif", reflectance, scale_tag=True)
    run_predict(predict_config(unet_ckpt, tmp_path / "f", tmp_path / "out_f"))
    run_predict(predict_config(unet_ckpt, tmp_path / "d", tmp_path / "out_d"))
    digital, float32 = _read(tmp_path / "out_d" / "s.prob.tif"), _read(tmp_path / "out_f" / "s.prob.tif")
    np.testing.assert_allclose(digital, float32, atol=1e-4)
    assert np.isnan(digital[:, :10, :10]).all()


def test_digital_numbers_for_a_reflectance_model_are_refused_in_one_line(
    tmp_path: Path, unet_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reflectance = np.random.default_rng(0).random((12, 64, 64), dtype=np.float32)
    scene = _digital_numbers(tmp_path / "dn.tif", reflectance, scale_tag=False)
    assert run_predict(predict_config(unet_ckpt, scene, tmp_path / "out")) == 2
    error = capsys.readouterr().err
    assert "dn.tif: values look like digital numbers" in error and "input_scale=0.0001" in error
    assert not list((tmp_path / "out").glob("*.prob.tif"))
    # an untagged export of digital numbers, scaled by the user's word
    assert run_predict(predict_config(unet_ckpt, scene, tmp_path / "out", input_scale=1e-4)) == 0


def test_reflectance_for_a_digital_number_model_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(0)
    model = DiscoveryFCN(padding="valid")
    config = {"_target_": "minegeo.models.DiscoveryFCN", "padding": "valid"}
    dn_pre = dataclasses.replace(PRE, reflectance_scale=1e-4)
    ckpt = tmp_path / "dn.ckpt"
    save_bundle(
        ckpt, Bundle("classification", ("mine", "not_mine"), 201, dn_pre, model.geometry, config), model
    )
    scene = random_scene(tmp_path / "r.tif", 240, 240)
    assert run_predict(predict_config(ckpt, scene, tmp_path / "out")) == 2
    assert "r.tif: values look like reflectance" in capsys.readouterr().err


def test_corrupt_scene_is_skipped_and_others_done(
    tmp_path: Path, unet_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    random_scene(tmp_path / "a.tif", 64, 64)
    (tmp_path / "b.tif").write_bytes(b"II*\x00garbage")
    random_scene(tmp_path / "c.tif", 64, 64)
    assert run_predict(predict_config(unet_ckpt, tmp_path, tmp_path / "out")) == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("*.prob.tif")) == ["a.prob.tif", "c.prob.tif"]
    assert "b.tif" in capsys.readouterr().err


def test_scenes_without_band_descriptions_are_named_in_one_warning(
    tmp_path: Path, unet_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = np.random.default_rng(0).random((12, 64, 64), dtype=np.float32)
    write_scene(tmp_path / "named.tif", data)
    (tmp_path / "bare").mkdir()
    for name in ("a.tif", "b.tif"):
        write_scene(tmp_path / "bare" / name, data, names=("",) * 12)

    run_predict(predict_config(unet_ckpt, tmp_path / "named.tif", tmp_path / "named"))
    capsys.readouterr()
    assert run_predict(predict_config(unet_ckpt, tmp_path / "bare", tmp_path / "out")) == 0

    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: 2 scene(s) have no band descriptions; their bands were taken to be "
        "B1,B2,B3,B4,B5,B6,B7,B8,B9,B10,B11,B12 in order: a.tif, b.tif"
    ]
    np.testing.assert_array_equal(
        _read(tmp_path / "out" / "a.prob.tif"), _read(tmp_path / "named" / "named.prob.tif")
    )


def test_failed_scene_is_in_the_summary_and_exit_2(
    tmp_path: Path, unet_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    random_scene(tmp_path / "a.tif", 64, 64)
    (tmp_path / "b.tif").write_bytes(b"II*\x00garbage")
    cfg = predict_config(unet_ckpt, tmp_path, tmp_path / "out", postprocess=True, report={"quicklook": False})

    assert run_predict(cfg) == 2

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [row["scene"] for row in summary["failed"]] == ["b"] and "b.tif" in summary["failed"][0]["error"]
    err = capsys.readouterr().err
    assert "error: " in err and "b.tif: not a readable GeoTIFF" in err
    assert err.strip().splitlines()[-1] == "error: 1 of 2 scene(s) failed: b"


def test_finished_scene_is_skipped(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out"))
    before = (tmp_path / "out" / "s.prob.tif").stat().st_mtime_ns
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out"))
    assert (tmp_path / "out" / "s.prob.tif").stat().st_mtime_ns == before


def test_changed_config_redoes_scene(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out"))
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out", dtype="uint8"))
    with rasterio.open(tmp_path / "out" / "s.prob.tif") as src:
        assert src.dtypes[0] == "uint8"


def test_earth_engine_tiles_mosaic_into_one_scene(tmp_path: Path, unet_ckpt: Path) -> None:
    data = np.random.default_rng(1).random((12, 100, 120), dtype=np.float32)
    whole = write_scene(tmp_path / "whole.tif", data)
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    for row, col in [(0, 0), (0, 64), (48, 0), (48, 64)]:
        shifted = TRANSFORM * Affine.translation(col, row)
        write_scene(
            tiles / f"scan-{row:010d}-{col:010d}.tif", data[:, row : row + 52, col : col + 64], shifted
        )
    run_predict(predict_config(unet_ckpt, whole, tmp_path / "a"))
    run_predict(predict_config(unet_ckpt, tiles, tmp_path / "b"))
    assert [p.name for p in (tmp_path / "b").glob("*.prob.tif")] == ["scan.prob.tif"]
    np.testing.assert_array_equal(
        _read(tmp_path / "b" / "scan.prob.tif"), _read(tmp_path / "a" / "whole.prob.tif")
    )


def test_ensemble_of_one_model_twice_equals_the_model(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "one"))
    run_predict(predict_config([str(unet_ckpt), str(unet_ckpt)], scene, tmp_path / "two"))
    np.testing.assert_allclose(
        _read(tmp_path / "two" / "s.prob.tif"), _read(tmp_path / "one" / "s.prob.tif"), atol=1e-6
    )


def test_flip_tta_keeps_probabilities_valid(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "out", tta="d4"))
    probs = _read(tmp_path / "out" / "s.prob.tif")[:, 10:, 10:]
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)


ENGINE_SETTINGS = [{"num_workers": 1}, {"channels_last": False}, {"gdal": {"threads": 1}}]


@pytest.mark.parametrize("settings", ENGINE_SETTINGS)
def test_engine_settings_do_not_change_probabilities(
    tmp_path: Path, unet_ckpt: Path, settings: dict[str, object]
) -> None:
    scene = random_scene(tmp_path / "s.tif", 150, 130)
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "default", batch_size=2))
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "other", batch_size=2, **settings))
    np.testing.assert_allclose(
        _read(tmp_path / "other" / "s.prob.tif"), _read(tmp_path / "default" / "s.prob.tif"), atol=1e-5
    )


def test_column_segments_do_not_change_probabilities(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 150, 700)  # a 1 MB strip holds 336 of its columns
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "whole", tile_size=64, batch_size=2))
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "cut", tile_size=64, batch_size=2, strip_mb=1))
    cut, whole = _read(tmp_path / "cut" / "s.prob.tif"), _read(tmp_path / "whole" / "s.prob.tif")
    np.testing.assert_array_equal(cut, whole)


def test_a_reader_process_fcn_equals_reading_in_turn(tmp_path: Path, fcn_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 215 + 27 * 9, 215 + 27 * 7)
    run_predict(predict_config(fcn_ckpt, scene, tmp_path / "turn", num_workers=0, batch_size=3))
    run_predict(predict_config(fcn_ckpt, scene, tmp_path / "ahead", num_workers=1, batch_size=3))
    ahead, turn = _read(tmp_path / "ahead" / "s.prob.tif"), _read(tmp_path / "turn" / "s.prob.tif")
    np.testing.assert_array_equal(ahead, turn)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"gdal": {"threads": "many"}}, "gdal.threads=many: expected ALL_CPUS or a whole number"),
        ({"compress_level": -3}, "compress_level=-3: expected a whole number from 1 to 12 for deflate"),
        ({"gdal": {"cache_mb": "lots"}}, "gdal.cache_mb=lots: expected a whole number"),
        ({"reuse_freed_memory": "sometimes"}, "reuse_freed_memory=sometimes: expected true or false"),
    ],
)
def test_bad_reader_or_output_setting_names_it(
    tmp_path: Path, unet_ckpt: Path, setting: dict[str, object], message: str
) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    with pytest.raises(MinegeoInputError, match=message):
        run_predict(predict_config(unet_ckpt, scene, tmp_path / "out", **setting))
    assert not (tmp_path / "out").exists()


def test_gdal_cache_gets_the_configured_megabytes(tmp_path: Path) -> None:
    libraries = sorted((Path(rasterio.__file__).parent.parent / "rasterio.libs").glob("libgdal*.so*"))
    if not libraries:
        pytest.skip("rasterio is not the wheel that bundles libgdal")
    gdal = ctypes.CDLL(str(libraries[0]))  # the library rasterio already loaded
    gdal.GDALGetCacheMax64.restype = ctypes.c_int64
    cfg = predict_config(tmp_path / "model.ckpt", tmp_path, tmp_path / "out", gdal={"cache_mb": 48})
    with rasterio.Env(**gdal_options(cfg)):
        assert gdal.GDALGetCacheMax64() == 48 * 2**20


@pytest.mark.slow
def test_ddp_ranks_split_scenes_and_match_one_process(tmp_path: Path, unet_ckpt: Path) -> None:
    scenes = random_scenes(tmp_path / "scenes", 3, 80, 70)
    run_predict(predict_config(unet_ckpt, scenes, tmp_path / "one"))
    ddp = {"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}
    assert run_predict(predict_config(unet_ckpt, scenes, tmp_path / "two", **ddp)) == 0
    for seed in range(3):
        name = f"s{seed}.prob.tif"
        np.testing.assert_array_equal(_read(tmp_path / "two" / name), _read(tmp_path / "one" / name))
    assert not list((tmp_path / "two").glob(".*"))  # no staging file left by either rank


def test_each_rank_owns_a_disjoint_share_of_the_scenes(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from minegeo.bundle import ModelGeometry
    from minegeo.inference.engine import WindowDataModule

    jobs = [SimpleNamespace(plan=SimpleNamespace(chunks=())) for _ in range(5)]
    owned = []
    for rank in range(2):
        datamodule = WindowDataModule(jobs, ModelGeometry(), batch_size=1, num_workers=0)  # type: ignore[arg-type]
        datamodule.trainer = SimpleNamespace(global_rank=rank, world_size=2)  # type: ignore[assignment]
        datamodule.predict_dataloader()
        owned.append({id(job) for job in datamodule.rank_jobs})
    assert owned[0].isdisjoint(owned[1]) and owned[0] | owned[1] == {id(job) for job in jobs}
