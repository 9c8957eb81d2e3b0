from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from torchgeo.samplers import GridGeoSampler

from minegeo import SENTINEL2_BANDS, SENTINEL2_L1C_BANDS
from minegeo.datasets.sentinel2 import Sentinel2Composite
from minegeo.errors import MinegeoInputError

ORIGIN = (500_000.0, 8_000_000.0)


def write_scene(
    path: Path,
    data: np.ndarray,
    descriptions: tuple[str, ...] | None = SENTINEL2_BANDS,
    nodata: float | None = float("nan"),
    origin: tuple[float, float] = ORIGIN,
    crs: str = "EPSG:32723",
    res: float = 10.0,
) -> Path:
    bands, height, width = data.shape
    profile = {
        "driver": "GTiff",
        "count": bands,
        "height": height,
        "width": width,
        "dtype": data.dtype,
        "crs": crs,
        "transform": from_origin(origin[0], origin[1], res, res),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = descriptions[:bands]
    return path


def ramp(bands: int = 12, size: int = 64) -> np.ndarray:
    values = np.arange(bands * size * size, dtype=np.float32).reshape(bands, size, size)
    return values / values.max()


def whole(dataset: Sentinel2Composite) -> torch.Tensor:
    xmin, ymin, xmax, ymax = dataset.index.total_bounds
    res = dataset.res[0]
    return dataset[xmin:xmax:res, ymin:ymax:res]["image"]


def test_reads_all_twelve_bands_as_float_reflectance(tmp_path: Path) -> None:
    data = ramp()
    write_scene(tmp_path / "scene.tif", data)
    image = whole(Sentinel2Composite(tmp_path))
    assert image.shape == (12, 64, 64)
    assert image.dtype == torch.float32
    np.testing.assert_allclose(image.numpy(), data, rtol=1e-6)


def test_band_subset_is_chosen_by_name_in_the_requested_order(tmp_path: Path) -> None:
    data = ramp()
    write_scene(tmp_path / "scene.tif", data)
    image = whole(Sentinel2Composite(tmp_path, bands=["B4", "B3", "B2"]))
    np.testing.assert_allclose(image.numpy(), data[[3, 2, 1]], rtol=1e-6)


def test_band_names_come_from_descriptions(tmp_path: Path) -> None:
    write_scene(tmp_path / "rgb.tif", ramp(bands=3), descriptions=("B2", "B3", "B4"))
    dataset = Sentinel2Composite(tmp_path, bands=["B4"])
    assert dataset.all_bands == ("B2", "B3", "B4")
    assert whole(dataset).shape[0] == 1


def test_files_without_descriptions_use_the_default_band_names(tmp_path: Path) -> None:
    write_scene(tmp_path / "scene.tif", ramp(), descriptions=None)
    assert Sentinel2Composite(tmp_path).all_bands == SENTINEL2_BANDS


def test_thirteen_unnamed_bands_are_the_l1c_bands_with_b8a(tmp_path: Path) -> None:
    write_scene(tmp_path / "l1c.tif", ramp(bands=13), descriptions=None)
    dataset = Sentinel2Composite(tmp_path, bands=["B8A", "B8"])
    assert dataset.all_bands == SENTINEL2_L1C_BANDS
    np.testing.assert_allclose(whole(dataset).numpy(), ramp(bands=13)[[8, 7]], rtol=1e-6)


def test_missing_band_is_one_line_naming_file_and_band(tmp_path: Path) -> None:
    path = write_scene(tmp_path / "rgb.tif", ramp(bands=3), descriptions=("B2", "B3", "B4"))
    with pytest.raises(MinegeoInputError, match=rf"{path.name}: missing band\(s\) B8"):
        Sentinel2Composite(tmp_path, bands=["B8", "B4"])


def test_wrong_band_count_without_names_is_refused(tmp_path: Path) -> None:
    write_scene(tmp_path / "five.tif", ramp(bands=5), descriptions=None)
    with pytest.raises(MinegeoInputError, match=r"five\.tif: 5 bands without names"):
        Sentinel2Composite(tmp_path)


def test_corrupt_tiff_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.tif").write_bytes(b"II*\x00 this is not a tiff")
    with pytest.raises(MinegeoInputError, match=r"broken\.tif: not a readable GeoTIFF"):
        Sentinel2Composite(tmp_path)


def test_truncated_tiff_is_named(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).random((12, 256, 256), dtype=np.float32)
    path = write_scene(tmp_path / "cut.tif", noise)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MinegeoInputError, match=r"cut\.tif: .*(truncated|not a readable)"):
        Sentinel2Composite(tmp_path)


def test_empty_folder_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="no GeoTIFF"):
        Sentinel2Composite(tmp_path)


def test_declared_nodata_value_becomes_nan(tmp_path: Path) -> None:
    data = (ramp() * 10_000).astype(np.uint16) + 1
    data[:, :4, :4] = 0
    write_scene(tmp_path / "dn.tif", data, nodata=0)
    image = whole(Sentinel2Composite(tmp_path, reflectance_scale=1e-4))
    assert torch.isnan(image[:, :4, :4]).all()
    assert not torch.isnan(image[:, 4:, 4:]).any()
    assert float(image[0, 10, 10]) == pytest.approx(float(data[0, 10, 10]) * 1e-4, rel=1e-5)


def test_nodata_value_from_config_becomes_nan(tmp_path: Path) -> None:
    data = ramp() + 0.1
    data[:, 0, 0] = -1.0
    write_scene(tmp_path / "scene.tif", data, nodata=None)
    image = whole(Sentinel2Composite(tmp_path, nodata=-1.0))
    assert torch.isnan(image[:, 0, 0]).all()
    assert int(torch.isnan(image).sum()) == 12


def test_query_beyond_the_scene_is_nan_not_zero(tmp_path: Path) -> None:
    write_scene(tmp_path / "scene.tif", ramp() + 0.1, nodata=None)
    dataset = Sentinel2Composite(tmp_path)
    x0, y1 = ORIGIN
    image = dataset[x0 - 100 : x0 + 100 : 10.0, y1 - 100 : y1 + 100 : 10.0]["image"]
    assert torch.isnan(image[:, :, :10]).all()  # west of the scene
    assert not torch.isnan(image[:, 10:, 10:]).any()


def test_earth_engine_tiles_mosaic_seamlessly(tmp_path: Path) -> None:
    data = ramp(size=96)
    for row in (0, 48):
        for col in (0, 48):
            name = f"scan-{row:010d}-{col:010d}.tif"
            origin = (ORIGIN[0] + col * 10.0, ORIGIN[1] - row * 10.0)
            write_scene(tmp_path / name, data[:, row : row + 48, col : col + 48], origin=origin)
    dataset = Sentinel2Composite(tmp_path)
    assert len(dataset) == 4
    np.testing.assert_allclose(whole(dataset).numpy(), data, rtol=1e-6)


def test_periods_in_file_names_and_tiles_set_the_index_dates(tmp_path: Path) -> None:
    write_scene(tmp_path / "mine.2019.tif", ramp())
    write_scene(tmp_path / "mine.2025Q1-0000000000-0000000000.tif", ramp())
    write_scene(tmp_path / "plain.tif", ramp())
    dates = {Path(row.filepath).name: row.Index for row in Sentinel2Composite(tmp_path).index.itertuples()}
    assert (dates["mine.2019.tif"].left.isoformat(), dates["mine.2019.tif"].right.year) == (
        "2019-01-01T00:00:00",
        2019,
    )
    quarter = dates["mine.2025Q1-0000000000-0000000000.tif"]
    assert (quarter.left.month, quarter.right.month) == (1, 3)
    assert dates["plain.tif"].left.year < 1700 and dates["plain.tif"].right.year > 2200  # all time


def test_a_period_that_does_not_exist_in_a_file_name_is_named(tmp_path: Path) -> None:
    bad = write_scene(tmp_path / "mine.20191340-20200101.tif", ramp())
    with pytest.raises(
        MinegeoInputError, match=rf"^{bad}: file name: period '20191340-20200101' names a day"
    ):
        Sentinel2Composite(tmp_path)


def test_grid_sampler_works_in_geographic_crs(tmp_path: Path) -> None:
    write_scene(tmp_path / "geo.tif", ramp(size=64), origin=(-44.0, -19.0), crs="EPSG:4326", res=9e-5)
    dataset = Sentinel2Composite(tmp_path)
    samples = [dataset[query]["image"] for query in GridGeoSampler(dataset, size=32, stride=32)]
    # Degree bounds are not exact multiples of the chip, so TorchGeo may add an edge chip.
    assert len(samples) >= 4
    assert all(sample.shape == (12, 32, 32) for sample in samples)
    assert not torch.isnan(samples[0]).any()


@pytest.mark.real_data
def test_real_tailings_patches_index_in_epsg4326(shared_data: Path) -> None:
    dataset = Sentinel2Composite(shared_data / "tailings_seg" / "img", bands=["B4", "B3", "B2"])
    assert len(dataset) == 60
    assert dataset.crs.to_epsg() == 4326
    assert dataset.res[0] == pytest.approx(8.93e-5, rel=0.01)
