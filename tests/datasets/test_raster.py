"""The one band check (names from descriptions or assumed by count, one line naming file,
expected and found bands) and pixel sizes in metres."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minegeo import SENTINEL2_BANDS, SENTINEL2_L1C_BANDS
from minegeo.datasets.raster import match_bands, open_raster, pixel_size_m
from minegeo.errors import MinegeoInputError
from minegeo.geo import metres_per_degree

RGB = ("B4", "B3", "B2")


def write_raster(
    path: Path,
    bands: int,
    descriptions: tuple[str, ...] | None = None,
    crs: str = "EPSG:32723",
    res: float = 10.0,
) -> Path:
    profile = {
        "driver": "GTiff",
        "count": bands,
        "height": 4,
        "width": 4,
        "dtype": "float32",
        "crs": crs,
        "transform": from_origin(-44.0 if crs == "EPSG:4326" else 500_000.0, -20.0, res, res),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros((bands, 4, 4), dtype=np.float32))
        for index, name in enumerate(descriptions or (), start=1):
            dst.set_band_description(index, name)
    return path


def test_described_bands_are_found_by_name(tmp_path: Path) -> None:
    with open_raster(write_raster(tmp_path / "rgb.tif", 3, ("B2", "B3", "B4"))) as src:
        found = match_bands(src, RGB)
    assert (found.names, found.indexes, found.described) == (("B2", "B3", "B4"), [3, 2, 1], True)


def test_unnamed_bands_are_the_assumed_ones_when_the_count_fits(tmp_path: Path) -> None:
    with open_raster(write_raster(tmp_path / "rgb.tif", 3)) as src:
        found = match_bands(src, ["B2"], assumed=RGB)
    assert (found.names, found.indexes, found.described) == (RGB, [3], False)


@pytest.mark.parametrize(("count", "names"), [(12, SENTINEL2_BANDS), (13, SENTINEL2_L1C_BANDS)])
def test_unnamed_12_or_13_bands_are_the_sentinel2_exports(tmp_path: Path, count: int, names: tuple) -> None:
    with open_raster(write_raster(tmp_path / "scene.tif", count)) as src:
        assert match_bands(src, assumed=RGB).names == names


def test_unnamed_bands_of_another_count_name_the_counts_expected(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "five.tif", 5)
    with open_raster(path) as src, pytest.raises(MinegeoInputError) as error:
        match_bands(src, assumed=RGB)
    line = str(error.value)
    assert line.startswith(f"{path}: 5 bands without names; expected band descriptions or one of 3 bands")
    assert "3 bands (B4,B3,B2), 12 bands (B1," in line
    assert "13 bands (B1,B2,B3,B4,B5,B6,B7,B8,B8A," in line


def test_a_missing_band_names_file_needer_expected_and_found(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "rgb.tif", 3, ("B2", "B3", "B4"))
    with open_raster(path) as src, pytest.raises(MinegeoInputError) as error:
        match_bands(src, ["B8", "B4", "B11"], needed_by="the checkpoint")
    assert str(error.value) == (
        f"{path}: missing band(s) B8,B11 that the checkpoint needs; expected 3 bands (B8,B4,B11), "
        "the file has 3 bands (B2,B3,B4)"
    )


def test_pixel_size_of_a_projected_raster_is_its_resolution(tmp_path: Path) -> None:
    with open_raster(write_raster(tmp_path / "utm.tif", 1, res=20.0)) as src:
        assert pixel_size_m(src) == 20.0


def test_pixel_size_in_degrees_is_converted_at_the_centre_latitude(tmp_path: Path) -> None:
    with open_raster(write_raster(tmp_path / "lonlat.tif", 1, crs="EPSG:4326", res=1e-4)) as src:
        latitude = (src.bounds.bottom + src.bounds.top) / 2
        assert pixel_size_m(src) == pytest.approx(1e-4 * metres_per_degree(latitude)[0])
        assert pixel_size_m(src) == pytest.approx(10.46, abs=0.01)  # 1e-4 degrees at 20 south
