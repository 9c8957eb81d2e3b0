"""The synthetic world: Earth Engine-like files, labels, registries, patches, determinism."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from minegeo import DISCOVERY_CLASSES, ORETYPE_CLASSES, SENTINEL2_L1C_BANDS
from minegeo.errors import MinegeoInputError
from minegeo.world import make as synthetic
from minegeo.world import spectra
from minegeo.world.make import ensure_world, make_world, write_earth_engine_tiles
from minegeo.world.registries import ANM_HEADER


def _checksums(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _scenes(root: Path) -> list[Path]:
    return sorted((root / "scenes").glob("*.tif"))


def test_world_has_the_documented_layout(small_world: Path) -> None:
    for name in ("labels.gpkg", "lookalikes.gpkg", "registered.gpkg", "anm_dams.tsv", "world.json"):
        assert (small_world / name).is_file(), name
    for cls in DISCOVERY_CLASSES:
        assert list((small_world / "patches" / "discovery" / cls).glob(f"{cls}_*.tif")), cls
    for cls in ORETYPE_CLASSES:
        assert list((small_world / "patches" / "oretype" / cls).glob(f"{cls}_*.tif")), cls
    assert len(_scenes(small_world)) == 2


def test_every_patch_class_has_a_handful(small_world: Path) -> None:
    counts = json.loads((small_world / "world.json").read_text())["counts"]["patches"]
    assert min(counts[cls] for cls in (*DISCOVERY_CLASSES, *ORETYPE_CLASSES)) >= 4


def test_scenes_are_earth_engine_geotiffs(small_world: Path) -> None:
    for path in _scenes(small_world):
        with rasterio.open(path) as src:
            assert (src.count, src.dtypes[0], src.descriptions) == (13, "float32", SENTINEL2_L1C_BANDS)
            assert src.crs.to_epsg() == 32723 and src.res == (10.0, 10.0)
            assert math.isnan(src.nodata)
            assert src.block_shapes[0] == (256, 256)
            structure = src.tags(ns="IMAGE_STRUCTURE")
            assert (structure["COMPRESSION"], structure["PREDICTOR"]) == ("DEFLATE", "3")


def test_reflectance_is_quantised_like_l1c_digital_numbers(small_world: Path) -> None:
    with rasterio.open(_scenes(small_world)[0]) as src:
        values = src.read()
    dn = values[np.isfinite(values)].astype(np.float64) * 10000
    assert np.abs(dn - np.rint(dn)).max() < 1e-3
    assert np.nanmin(values) > 0.0 and np.nanmax(values) < 0.6


def test_cloud_holes_are_a_few_percent_and_cover_all_bands(small_world: Path) -> None:
    with rasterio.open(_scenes(small_world)[0]) as src:
        holes = np.isnan(src.read())
    assert (holes == holes[0]).all()
    assert 0.001 < holes[0].mean() < 0.08


def test_vegetation_is_brighter_in_nir_than_red_and_mines_in_swir(small_world: Path) -> None:
    labels = gpd.read_file(small_world / "labels.gpkg").to_crs("EPSG:32723")
    with rasterio.open(_scenes(small_world)[0]) as src:
        bands = src.read()
        mined = rasterio.features.rasterize(labels.geometry, out_shape=src.shape, transform=src.transform) > 0
    background = bands[:, ~mined & np.isfinite(bands[0])]
    b4, b8, b11 = (SENTINEL2_L1C_BANDS.index(name) for name in ("B4", "B8", "B11"))
    assert np.median(background[b8]) > 1.5 * np.median(background[b4])  # plants
    assert np.median(bands[b11][mined]) > np.median(bands[b8][mined])  # rock


def test_discovery_patches_are_201px_cuts_of_the_scenes(small_world: Path) -> None:
    scene = _scenes(small_world)[0]
    with rasterio.open(scene) as src:
        pixels, scene_transform = src.read(), src.transform
    for path in (small_world / "patches" / "discovery").rglob("*.tif"):
        with rasterio.open(path) as patch:
            assert (patch.width, patch.height, patch.descriptions) == (201, 201, SENTINEL2_L1C_BANDS)
            assert patch.crs.to_epsg() == 32723
            col, row = ~scene_transform * (patch.transform.c, patch.transform.f)
            if 0 <= row < src.height and 0 <= col < src.width:
                window = pixels[:, round(row) : round(row) + 201, round(col) : round(col) + 201]
                np.testing.assert_array_equal(patch.read(), window)


def test_oretype_patches_are_21px(small_world: Path) -> None:
    for path in (small_world / "patches" / "oretype").rglob("*.tif"):
        with rasterio.open(path) as patch:
            assert (patch.width, patch.height, patch.count) == (21, 21, 13)


def test_labels_are_mine_and_dam_polygons_in_wgs84(small_world: Path) -> None:
    labels = gpd.read_file(small_world / "labels.gpkg")
    assert labels.crs.to_epsg() == 4326
    assert set(labels["class"]) == {"mine", "tailings_dam"}
    assert set(labels["ore_type"]) == {"high_impact", "low_impact"}
    assert labels["registered"].dtype == bool
    assert set(labels["scene"]) == {p.stem for p in _scenes(small_world)}
    assert labels.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()


def test_lookalikes_are_the_papers_false_positives(small_world: Path) -> None:
    lookalikes = gpd.read_file(small_world / "lookalikes.gpkg")
    assert set(lookalikes["class"]) <= {"lake", "irrigation_dam", "river_bank", "city", "construction"}
    assert len(lookalikes) >= 6


def test_concessions_cover_the_registered_mines_only(small_world: Path) -> None:
    labels = gpd.read_file(small_world / "labels.gpkg").to_crs("EPSG:32723")
    concessions = gpd.read_file(small_world / "registered.gpkg")
    assert concessions.crs.to_epsg() == 4674
    assert {"PROCESSO", "FASE", "SUBS", "NOME", "UF", "AREA_HA"} <= set(concessions.columns)
    assert all(re.fullmatch(r"\d{3}\.\d{3}/\d{4}", p) for p in concessions["PROCESSO"])
    covered = labels.intersects(concessions.to_crs("EPSG:32723").union_all())
    assert (covered == labels["registered"]).all()
    assert 0 < covered.sum() < len(labels)


def test_world_json_lists_the_unregistered_ids(small_world: Path) -> None:
    world = json.loads((small_world / "world.json").read_text())
    labels = gpd.read_file(small_world / "labels.gpkg")
    assert sorted(world["unregistered"]) == sorted(labels.loc[~labels["registered"], "id"])
    assert (world["seed"], world["size"]) == (0, "small")


def test_anm_list_holds_the_registered_dams_in_dms(small_world: Path) -> None:
    lines = (small_world / "anm_dams.tsv").read_text(encoding="utf-8").splitlines()
    assert tuple(lines[0].split("\t")) == ANM_HEADER
    labels = gpd.read_file(small_world / "labels.gpkg")
    dams = labels[labels["registered"] & (labels["class"] == "tailings_dam")]
    assert len(lines) - 1 == len(dams)
    latitude = lines[1].split("\t")[4]
    assert re.fullmatch(r'"-\d+°\d{2}\'\d{2}\.\d{3}"""', latitude)


@pytest.mark.real_data
def test_anm_header_equals_the_agencys(small_world: Path, shared_data: Path) -> None:
    real = (shared_data / "anm" / "dam_2019_table.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert (small_world / "anm_dams.tsv").read_text(encoding="utf-8").splitlines()[0] == real


def test_negative_patches_hold_no_mine(small_world: Path) -> None:
    mined = gpd.read_file(small_world / "labels.gpkg").to_crs("EPSG:32723").union_all()
    for cls in ("not_mine", "no_ore"):
        for path in (small_world / "patches").rglob(f"{cls}/*.tif"):
            with rasterio.open(path) as patch:
                assert box(*patch.bounds).intersection(mined).area == 0, path.name


def test_mine_patches_are_centred_on_mines(small_world: Path) -> None:
    labels = gpd.read_file(small_world / "labels.gpkg").to_crs("EPSG:32723").set_index("id")
    for path in (small_world / "patches" / "discovery" / "mine").glob("*.tif"):
        with rasterio.open(path) as patch:
            centre = box(*patch.bounds).centroid
        assert centre.distance(labels.geometry[path.stem.removeprefix("mine_")].centroid) < 150


def test_same_seed_same_bytes_other_seed_other_bytes(small_world: Path, tmp_path: Path) -> None:
    again = make_world(tmp_path / "again", seed=0, size="small")
    other = make_world(tmp_path / "other", seed=1, size="small")
    assert _checksums(again) == _checksums(small_world)
    differing = set(_checksums(other).items()) ^ set(_checksums(small_world).items())
    assert {name for name, _ in differing} >= {"scenes/scene_00.tif", "labels.gpkg", "world.json"}


def test_make_world_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(MinegeoInputError, match="not empty"):
        make_world(tmp_path, size="small")


def test_large_world_is_the_demo_world_with_twice_the_places() -> None:
    demo, large = synthetic.WORLD_SIZES["demo"], synthetic.WORLD_SIZES["large"]
    assert large == dataclasses.replace(demo, scenes=2 * demo.scenes)


def test_make_world_refuses_an_unknown_size(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="size='huge'"):
        make_world(tmp_path / "w", size="huge")  # type: ignore[arg-type]


def test_ensure_world_keeps_an_existing_world(small_world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "make_world", lambda *a, **k: pytest.fail("regenerated"))
    assert ensure_world(small_world, seed=5, size="small") == small_world


def test_ensure_world_refuses_a_world_of_other_bands(tmp_path: Path) -> None:
    old = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12"]
    (tmp_path / "world.json").write_text(json.dumps({"bands": old}))
    with pytest.raises(MinegeoInputError, match=r"holds bands \[.*\], not the 13 .*delete the folder"):
        ensure_world(tmp_path, size="small")


def test_b8a_reads_near_b8_above_it_for_plants_below_it_for_water() -> None:
    b8, b8a, b9 = (spectra.band(name) for name in ("B8", "B8A", "B9"))
    for name, spectrum in spectra.SPECTRA.items():
        assert len(spectrum) == 13, name
        assert abs(spectrum[b8a] - spectrum[b8]) <= 0.012, name  # both on the NIR plateau
        assert spectrum[b8a] > spectrum[b9], name  # B9 sits in the water-vapour absorption
    assert spectra.SPECTRA["forest"][b8a] > spectra.SPECTRA["forest"][b8]
    assert spectra.SPECTRA["water"][b8a] < spectra.SPECTRA["water"][b8]


def test_interrupted_generation_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, "_write_vectors", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_world(tmp_path / "world", size="small")
    assert list(tmp_path.iterdir()) == []


def test_earth_engine_tiles_are_named_by_pixel_offsets(small_world: Path, tmp_path: Path) -> None:
    tiles = write_earth_engine_tiles(_scenes(small_world)[0], tmp_path, 256)
    assert [t.name for t in tiles] == [
        f"scene_00-{row:010d}-{col:010d}.tif" for row in (0, 256) for col in (0, 256, 512)
    ]


def test_earth_engine_tiles_mosaic_back_to_the_scene(small_world: Path, tmp_path: Path) -> None:
    scene = _scenes(small_world)[0]
    with rasterio.open(scene) as src:
        original, transform = src.read(), src.transform
    mosaic = np.zeros_like(original)
    for tile in write_earth_engine_tiles(scene, tmp_path, 200):
        with rasterio.open(tile) as piece:
            row, col = (int(n) for n in tile.stem.split("-")[1:])
            assert piece.transform == transform * rasterio.Affine.translation(col, row)
            assert piece.descriptions == SENTINEL2_L1C_BANDS
            mosaic[:, row : row + piece.height, col : col + piece.width] = piece.read()
    np.testing.assert_array_equal(mosaic, original)


def test_earth_engine_tiles_keep_the_scene_compression(small_world: Path, tmp_path: Path) -> None:
    tile = write_earth_engine_tiles(_scenes(small_world)[0], tmp_path, 512)[0]
    with rasterio.open(tile) as piece:
        structure = piece.tags(ns="IMAGE_STRUCTURE")
    assert (structure["COMPRESSION"], structure["PREDICTOR"]) == ("DEFLATE", "3")


def test_earth_engine_tiles_refuse_a_zero_tile(small_world: Path, tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="tile_px=0"):
        write_earth_engine_tiles(_scenes(small_world)[0], tmp_path, 0)
