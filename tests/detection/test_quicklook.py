"""Quick-look PNGs of tiny scenes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from shapely.geometry import box

from minegeo.detection.quicklook import stretch, write_quicklook

TRANSFORM = from_origin(500_000.0, 8_000_000.0, 10.0, 10.0)


def write_raster(
    path: Path, data: np.ndarray, names: tuple[str, ...], transform: rasterio.Affine = TRANSFORM
) -> Path:
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0]}
    profile.update(dtype="float32", crs="EPSG:32723", transform=transform, nodata=np.nan)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(np.float32))
        dst.descriptions = names
    return path


def scene_and_prob(tmp_path: Path, bands: tuple[str, ...] = ("B2", "B3", "B4")) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    data = rng.random((len(bands), 60, 80))
    data[:, :5, :5] = np.nan
    scene = write_raster(tmp_path / "s.tif", data, bands)
    mine = np.zeros((60, 80))
    mine[10:20, 30:40] = 0.9
    prob = write_raster(tmp_path / "s.prob.tif", np.stack([1 - mine, mine]), ("background", "mine"))
    return scene, prob


def polygon_detections(registered: list[bool]) -> gpd.GeoDataFrame:
    outline = box(500_300, 7_999_800, 500_400, 7_999_900)
    frame = gpd.GeoDataFrame(
        {"registered": registered}, geometry=[outline] * len(registered), crs="EPSG:32723"
    )
    return frame.to_crs("EPSG:4326")


def test_quicklook_is_a_png_within_the_size_bound(tmp_path: Path) -> None:
    scene, prob = scene_and_prob(tmp_path)

    target = write_quicklook(
        scene, prob, polygon_detections([False, True]), tmp_path / "s.quicklook.png", max_side=40
    )

    with Image.open(target) as image:
        assert image.format == "PNG" and image.width > 100
    assert not list(tmp_path.glob(".*partial*"))


def test_quicklook_without_rgb_bands_or_detections(tmp_path: Path) -> None:
    scene, prob = scene_and_prob(tmp_path, bands=("B8", "B11"))

    target = write_quicklook(scene, prob, polygon_detections([]), tmp_path / "s.quicklook.png")

    assert target.stat().st_size > 0


def test_quicklook_draws_points(tmp_path: Path) -> None:
    scene, prob = scene_and_prob(tmp_path)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy([500_350], [7_999_850]), crs="EPSG:32723")

    target = write_quicklook(scene, prob, points, tmp_path / "s.quicklook.png")

    assert target.is_file()


def test_stretch_maps_percentiles_to_unit_range_and_keeps_nan() -> None:
    band = np.arange(101, dtype=np.float32).reshape(1, 1, 101)
    band[0, 0, 0] = np.nan

    out = stretch(band)

    assert np.isnan(out[0, 0, 0])
    assert out[0, 0, 1:].min() == 0.0 and out[0, 0, 1:].max() == 1.0


def test_legend_names_the_outline_colours_with_counts() -> None:
    from matplotlib.figure import Figure

    from minegeo.detection.quicklook import _add_legend

    axes = Figure().add_subplot()
    _add_legend(axes, polygon_detections([True, False, False]))

    legend = axes.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["registered (1)", "unregistered (2)"]
    assert [line.get_color() for line in legend.get_lines()] == ["lime", "red"]
