"""Run-level outputs: detection files, summary, ore-type and registry wiring, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from omegaconf import DictConfig, OmegaConf
from pyproj import Transformer
from rasterio.features import rasterize
from shapely.geometry import Point, box

from minegeo import SENTINEL2_BANDS
from minegeo.detection.detections import detect_scene
from minegeo.detection.report import evaluate_against_truth, finish_run, summary_markdown
from minegeo.errors import MinegeoInputError
from tests.detection.test_detections import DETECT, UTM, make_bundle, segmentation_probs, write_prob
from tests.detection.test_oretype import save_ore_checkpoint

TO_LONLAT = Transformer.from_crs("EPSG:32723", "EPSG:4326", always_xy=True)
OUTPUTS = (
    "detections.geojson",
    "detections.gpkg",
    "detections.kml",
    "detections.csv",
    "summary.json",
    "summary.md",
)


def predict_cfg(**overrides: object) -> DictConfig:
    cfg = {
        "ckpt": "model.ckpt",
        "input": "scenes",
        "out": "maps",
        "detect": DETECT,
        "oretype": {"ckpt": None, "drop_classes": ["no_ore"], "batch_size": 256},
        "registry": {"concessions": None, "dams": None, "max_distance_m": 0.0},
        "report": {"top_n": 20, "quicklook": True},
    }
    return OmegaConf.merge(OmegaConf.create(cfg), OmegaConf.create(overrides))  # type: ignore[return-value]


def write_scene(path: Path, height: int = 20, width: int = 20) -> Path:
    """A 12-band scene on the probability rasters' grid."""
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 12, "dtype": "float32"}
    profile.update(crs="EPSG:32723", transform=UTM, nodata=np.nan)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.random.default_rng(0).random((12, height, width), dtype=np.float32))
        dst.descriptions = SENTINEL2_BANDS
    return path


def two_site_scene(tmp_path: Path) -> tuple[Path, Path]:
    """A scene with a strong site at rows 2..4 and a weaker one at rows 12..14."""
    mine = np.zeros((20, 20), np.float32)
    mine[2:5, 2:5] = 0.95
    mine[12:15, 12:15] = 0.7
    prob = write_prob(tmp_path / "s.prob.tif", segmentation_probs(mine))
    return write_scene(tmp_path / "s.tif"), prob


def run(tmp_path: Path, cfg: DictConfig) -> tuple[dict, Path]:
    scene, prob = two_site_scene(tmp_path)
    detections = [detect_scene(prob, scene, make_bundle(), cfg.detect)]
    out = tmp_path / "out"
    return finish_run(detections, [(scene, prob)], out, cfg), out


def test_every_output_is_written_and_rereads(tmp_path: Path) -> None:
    summary, out = run(tmp_path, predict_cfg())

    for name in OUTPUTS[:4]:
        frame = pyogrio.read_dataframe(out / name)
        assert len(frame) == 2, name
    csv = pyogrio.read_dataframe(out / "detections.csv", read_geometry=False)
    assert {"lon", "lat", "WKT", "registered", "registry_distance_m"} <= set(csv.columns)
    assert (out / "s.quicklook.png").is_file()
    assert json.loads((out / "summary.json").read_text()) == summary
    assert set(summary["files"]) == {*OUTPUTS, "s.quicklook.png"}


def test_summary_counts_and_top_sites(tmp_path: Path) -> None:
    summary, _ = run(tmp_path, predict_cfg(report={"top_n": 1}))

    assert summary["scenes"] == 1 and summary["detections"] == 2
    assert summary["unregistered"] == 2 and summary["registered"] == 0
    assert summary["per_class"] == {"mine": 2}
    assert summary["area_km2"]["total"] == pytest.approx(18 * 100 / 1e6, rel=2e-3)
    assert [site["max_prob"] for site in summary["top_unregistered"]] == [pytest.approx(0.95)]
    assert summary["registry_checked"] is False


def test_concession_registers_the_site_inside_it(tmp_path: Path) -> None:
    concession = box(500_000, 7_999_950, 500_050, 8_000_000)  # covers rows 0..4, cols 0..4
    path = tmp_path / "registered.gpkg"
    gpd.GeoDataFrame({"PROCESSO": ["1/2020"]}, geometry=[concession], crs="EPSG:32723").to_file(path)

    summary, _ = run(tmp_path, predict_cfg(registry={"concessions": str(path)}))

    assert summary["registered"] == 1 and summary["unregistered"] == 1
    top = summary["top_unregistered"][0]
    assert top["max_prob"] == pytest.approx(0.7)
    assert top["registry_distance_m"] == pytest.approx(70.0 * np.sqrt(2), abs=0.5)  # corner to corner
    assert top["nearest_registry_id"] == "1/2020"


def test_ore_type_stage_drops_no_ore(tmp_path: Path) -> None:
    ckpt = save_ore_checkpoint(tmp_path / "ore.ckpt", "no_ore")

    summary, out = run(tmp_path, predict_cfg(oretype={"ckpt": str(ckpt)}))

    assert summary["dropped_by_ore_type"] == 2 and summary["detections"] == 0
    assert summary["per_ore_type"] == {"no_ore": 2}
    assert "ore_type" in pyogrio.read_info(out / "detections.gpkg")["fields"]


def test_all_nodata_run_writes_valid_empty_files(tmp_path: Path) -> None:
    prob = write_prob(tmp_path / "s.prob.tif", np.full((3, 20, 20), np.nan, np.float32))
    scene = write_scene(tmp_path / "s.tif")
    cfg = predict_cfg()
    detections = [detect_scene(prob, scene, make_bundle(), cfg.detect)]

    summary = finish_run(detections, [(scene, prob)], tmp_path / "out", cfg)

    for name in OUTPUTS[:4]:
        assert pyogrio.read_info(tmp_path / "out" / name)["features"] == 0, name
    assert summary["detections"] == 0 and summary["top_unregistered"] == []
    assert "# Detections summary" in (tmp_path / "out" / "summary.md").read_text()


def test_all_nodata_scene_gets_a_warning_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prob = write_prob(tmp_path / "s.prob.tif", np.full((3, 20, 20), np.nan, np.float32))
    scene = write_scene(tmp_path / "s.tif")
    cfg = predict_cfg()

    summary = finish_run(
        [detect_scene(prob, scene, make_bundle(), cfg.detect)], [(scene, prob)], tmp_path, cfg
    )

    assert summary["warnings"] == [
        {"scene": "s", "warning": "s.prob.tif: every pixel is nodata (the scene holds no valid reflectance)"}
    ]
    assert "warning: s.prob.tif: every pixel is nodata" in capsys.readouterr().err
    assert "## Warnings: 1" in (tmp_path / "summary.md").read_text()


def test_failed_scenes_are_in_the_summary(tmp_path: Path) -> None:
    scene, prob = two_site_scene(tmp_path)
    cfg = predict_cfg()
    failed = {"b": "b.tif: not a readable GeoTIFF"}

    summary = finish_run(
        [detect_scene(prob, scene, make_bundle(), cfg.detect)],
        [(scene, prob)],
        tmp_path / "out",
        cfg,
        failed=failed,
    )

    assert summary["scenes"] == 2 and summary["scenes_failed"] == 1
    assert summary["failed"] == [{"scene": "b", "error": "b.tif: not a readable GeoTIFF"}]
    assert summary["warnings"] == []
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert "## Failed scenes (no map): 1" in markdown and "| b | b.tif: not a readable GeoTIFF |" in markdown


def test_rerun_writes_the_same_bytes_and_clears_partial_files(tmp_path: Path) -> None:
    first, out = run(tmp_path, predict_cfg())
    digests = {name: (out / name).read_bytes() for name in OUTPUTS if name != "summary.json"}
    (out / f".detections.partial-{999999}.csv").write_text("half")

    second, _ = run(tmp_path, predict_cfg())

    assert {name: (out / name).read_bytes() for name in digests} == digests
    assert {k: v for k, v in first.items() if k != "created"} == {
        k: v for k, v in second.items() if k != "created"
    }
    assert not list(out.glob(".*"))


def test_concessions_without_polygons_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame({"PROCESSO": ["1"]}, geometry=[Point(500_010, 7_999_990)], crs="EPSG:32723").to_file(
        path
    )

    with pytest.raises(MinegeoInputError, match=r"concessions=.*points.gpkg: none of its 1 features"):
        run(tmp_path, predict_cfg(registry={"concessions": str(path)}))
    assert not (tmp_path / "out").exists()


def test_summary_markdown_lists_top_sites(tmp_path: Path) -> None:
    summary, _ = run(tmp_path, predict_cfg())

    text = summary_markdown(summary)

    assert "| s-00000 |" in text and "| s-00001 |" in text


def lonlat_box(x0: float, y0: float, x1: float, y1: float) -> object:
    (lon0, lon1), (lat0, lat1) = TO_LONLAT.transform([x0, x1], [y0, y1])
    return box(lon0, lat0, lon1, lat1)


def test_evaluation_counts_found_and_false(tmp_path: Path) -> None:
    truth = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "registered": [False, False, True]},
        geometry=[
            lonlat_box(500_000, 8_000_000, 500_100, 8_000_100),
            lonlat_box(501_000, 8_000_000, 501_100, 8_000_100),
            lonlat_box(502_000, 8_000_000, 502_100, 8_000_100),
        ],
        crs="EPSG:4326",
    )
    hits = [(500_050, 8_000_050), (501_200, 8_000_050), (505_000, 8_000_000)]  # inside, 100 m off, far
    lons, lats = TO_LONLAT.transform([p[0] for p in hits], [p[1] for p in hits])
    detections = gpd.GeoDataFrame(
        {"cell_m": [270.0] * 3},
        geometry=[Point(x, y) for x, y in zip(lons, lats, strict=True)],
        crs="EPSG:4326",
    )

    scores = evaluate_against_truth(detections, truth)
    by_ids = evaluate_against_truth(detections, truth, unregistered_ids=["a"])

    assert scores["unregistered"] == 2 and scores["unregistered_found"] == 2
    assert scores["truth_found"] == 2 and scores["false_detections"] == 1
    assert scores["false_detection_share"] == pytest.approx(1 / 3)
    assert by_ids["unregistered"] == 1 and by_ids["unregistered_recall"] == 1.0


def test_evaluation_half_cell_tolerance_is_respected(tmp_path: Path) -> None:
    truth = gpd.GeoDataFrame(
        {"id": ["a"], "registered": [False]},
        geometry=[lonlat_box(500_000, 8_000_000, 500_100, 8_000_100)],
        crs="EPSG:4326",
    )
    lon, lat = TO_LONLAT.transform(500_110, 8_000_050)  # 10 m off the polygon
    detection = gpd.GeoDataFrame({"cell_m": [10.0]}, geometry=[Point(lon, lat)], crs="EPSG:4326")

    assert evaluate_against_truth(detection, truth)["unregistered_found"] == 0


def oracle_probabilities(scene: Path, labels: gpd.GeoDataFrame, target: Path) -> Path:
    """A probability raster that is 0.9 on the world's labelled mines and dams."""
    with rasterio.open(scene) as src:
        local = labels.to_crs(src.crs)
        masks = [
            rasterize(
                [(g, 1) for g in local[local["class"] == name].geometry], src.shape, transform=src.transform
            )
            for name in ("mine", "tailings_dam")
        ]
        transform, crs = src.transform, src.crs.to_string()
    probs = np.stack([1 - 0.9 * (masks[0] | masks[1]), 0.9 * masks[0], 0.9 * masks[1]])
    return write_prob(target, probs.astype(np.float32), transform=transform, crs=crs)


def test_synthetic_world_with_oracle_probabilities(small_world: Path, tmp_path: Path) -> None:
    labels = gpd.read_file(small_world / "labels.gpkg")
    world = json.loads((small_world / "world.json").read_text())
    registry = {
        "concessions": str(small_world / "registered.gpkg"),
        "dams": str(small_world / "anm_dams.tsv"),
    }
    cfg = predict_cfg(registry=registry, report={"quicklook": False})
    pairs = [
        (s, oracle_probabilities(s, labels, tmp_path / f"{s.stem}.prob.tif"))
        for s in sorted((small_world / "scenes").glob("*.tif"))
    ]
    detections = [detect_scene(prob, scene, make_bundle(), cfg.detect) for scene, prob in pairs]

    summary = finish_run(detections, pairs, tmp_path / "out", cfg)
    scores = evaluate_against_truth(
        pyogrio.read_dataframe(tmp_path / "out" / "detections.gpkg"), labels, world["unregistered"]
    )

    assert summary["unregistered"] == len(world["unregistered"])
    assert summary["registered"] == len(world["registered"])
    assert scores["unregistered_recall"] == 1.0 and scores["false_detections"] == 0
