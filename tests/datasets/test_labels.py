"""Tests for vector labels, their rasterization, MineLabels and MaskedPatches."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.transform import from_origin

from minegeo import SEGMENTATION_CLASSES
from minegeo.datasets.labels import (
    IGNORE_INDEX,
    MaskedPatches,
    MineLabels,
    rasterize_labels,
    read_vector_labels,
)
from minegeo.errors import MinegeoInputError

# A 1 km square grid at 10 m in UTM 23S (Minas Gerais), and the same place in lon/lat.
UTM = "EPSG:32723"
ORIGIN = (600_000.0, 7_800_000.0)
GRID = from_origin(*ORIGIN, 10.0, 10.0)


def utm_box(col0: int, row0: int, col1: int, row1: int) -> shapely.Polygon:
    """A box covering pixels [col0, col1) x [row0, row1) of GRID, in UTM."""
    x, y = ORIGIN
    return shapely.box(x + 10 * col0, y - 10 * row1, x + 10 * col1, y - 10 * row0)


def write_labels(
    path: Path,
    geometries: list,
    classes: list[str] | None = None,
    crs: str = UTM,
    driver: str | None = None,
    **columns: list,
) -> Path:
    """A label file with a `class` column (when `classes` is given) and any other columns."""
    if classes is not None:
        columns["class"] = classes
    gpd.GeoDataFrame(columns, geometry=geometries, crs=crs).to_file(path, driver=driver)
    return path


def window(x: float, y: float, size_m: float, res: float = 10.0) -> tuple[slice, slice]:
    """A GeoSlice of `size_m` metres square whose top-left corner is (x, y)."""
    return slice(x, x + size_m, res), slice(y - size_m, y, res)


def write_tif(
    path: Path, data: np.ndarray, transform: Affine, crs: str = UTM, names: tuple[str, ...] = ()
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = data.shape
    profile = {"driver": "GTiff", "count": count, "height": height, "width": width, "dtype": data.dtype}
    with rasterio.open(path, "w", crs=crs, transform=transform, **profile) as dst:
        dst.write(data)
        for band, name in enumerate(names, start=1):
            dst.set_band_description(band, name)
    return path


# --- read_vector_labels -------------------------------------------------------------


def test_polygon_classes_become_indexes(tmp_path: Path) -> None:
    path = write_labels(
        tmp_path / "l.gpkg",
        [utm_box(0, 0, 5, 5), utm_box(10, 10, 20, 20)],
        ["tailings_dam", "mine"],
    )
    labels = read_vector_labels(path)
    assert list(labels["class_index"]) == [2, 1]
    assert list(labels["class_name"]) == ["tailings_dam", "mine"]


def test_points_are_buffered_in_metres_at_any_latitude(tmp_path: Path) -> None:
    points = [shapely.Point(-60.0, 2.0), shapely.Point(-44.0, -20.0), shapely.Point(-52.0, -33.0)]
    path = write_labels(tmp_path / "p.geojson", points, ["mine"] * 3, crs="EPSG:4326")
    labels = read_vector_labels(path, point_radius_m=100.0)
    assert set(labels.geom_type) == {"Polygon"}
    for disc in labels.geometry:
        local = gpd.GeoSeries([disc], crs=labels.crs)
        area = local.to_crs(local.estimate_utm_crs()).area.iloc[0]
        assert area == pytest.approx(math.pi * 100.0**2, rel=0.01)


def test_class_map_maps_source_values(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.gpkg", [utm_box(0, 0, 5, 5), utm_box(6, 6, 9, 9)], code=[1, 2])
    labels = read_vector_labels(path, class_column="code", class_map={"1": "mine", 2: "tailings_dam"})
    assert list(labels["class_index"]) == [1, 2]


def test_file_without_class_column_uses_default_class(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "p.geojson", [shapely.Point(-44, -20)], crs="EPSG:4326", id=[7])
    labels = read_vector_labels(path, default_class="mine")
    assert list(labels["class_name"]) == ["mine"]


def test_missing_class_column_without_default_is_refused(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "p.geojson", [shapely.Point(-44, -20)], crs="EPSG:4326", id=[7])
    with pytest.raises(MinegeoInputError, match=r"p\.geojson: no class column 'class' \(columns: id\)"):
        read_vector_labels(path)


def test_unknown_class_names_file_values_and_allowed(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.gpkg", [utm_box(0, 0, 5, 5)] * 3, ["mine", "lake", "pit"])
    with pytest.raises(
        MinegeoInputError,
        match=r"l\.gpkg: unknown class value\(s\) lake, pit in 'class'; "
        r"expected one of background, mine, tailings_dam",
    ):
        read_vector_labels(path)


def test_empty_label_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"class": []}, geometry=[], crs=UTM).to_file(path)
    with pytest.raises(MinegeoInputError, match=r"empty\.gpkg: no label features"):
        read_vector_labels(path)


def test_missing_label_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"none\.gpkg: label file not found"):
        read_vector_labels(tmp_path / "none.gpkg")


def test_kml_labels_are_read(tmp_path: Path) -> None:
    square = shapely.box(-44.0, -20.0, -43.99, -19.99)
    path = write_labels(tmp_path / "l.kml", [square], ["tailings_dam"], crs="EPSG:4326", driver="KML")
    labels = read_vector_labels(path)
    assert list(labels["class_index"]) == [2]
    assert labels.geometry.iloc[0].equals_exact(square, tolerance=1e-9)


def test_kml_without_class_column_uses_default_class(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.kml", [shapely.Point(-44.0, -20.0)], crs="EPSG:4326", driver="KML")
    labels = read_vector_labels(path, default_class="mine")
    assert list(labels["class_index"]) == [1]


def test_shapefile_labels_are_read(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.shp", [utm_box(0, 0, 5, 5)], ["mine"])
    assert list(read_vector_labels(path)["class_index"]) == [1]


def test_invalid_polygons_are_repaired_and_null_ones_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bowtie = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    path = write_labels(tmp_path / "l.gpkg", [bowtie, None], ["mine", "mine"])
    with caplog.at_level(logging.WARNING):
        labels = read_vector_labels(path)
    assert len(labels) == 1 and labels.geometry.iloc[0].is_valid
    assert "repaired 1 invalid" in caplog.text and "dropped 1 features" in caplog.text


# --- rasterize_labels ---------------------------------------------------------------


def test_labels_in_another_crs_are_reprojected(tmp_path: Path) -> None:
    square = gpd.GeoSeries([utm_box(20, 30, 60, 70)], crs=UTM).to_crs("EPSG:4326")
    path = write_labels(tmp_path / "l.geojson", list(square), ["mine"], crs="EPSG:4326")
    mask = rasterize_labels(read_vector_labels(path), SEGMENTATION_CLASSES, GRID, (100, 100), UTM)
    assert mask[50, 40] == 1 and mask[10, 10] == 0
    assert (mask == 1).sum() == pytest.approx(40 * 40, rel=0.05)


def test_labels_outside_the_raster_give_background(tmp_path: Path) -> None:
    far = shapely.box(700_000, 7_700_000, 701_000, 7_701_000)
    path = write_labels(tmp_path / "l.gpkg", [far], ["mine"])
    mask = rasterize_labels(read_vector_labels(path), SEGMENTATION_CLASSES, GRID, (100, 100), UTM)
    assert mask.dtype == np.uint8 and not mask.any()


def test_tailings_dam_wins_over_mine_whatever_the_file_order(tmp_path: Path) -> None:
    geometries = [utm_box(10, 10, 20, 20), utm_box(0, 0, 50, 50)]
    path = write_labels(tmp_path / "l.gpkg", geometries, ["tailings_dam", "mine"])
    mask = rasterize_labels(read_vector_labels(path), SEGMENTATION_CLASSES, GRID, (100, 100), UTM)
    assert mask[15, 15] == 2 and mask[30, 30] == 1 and mask[60, 60] == 0


def test_class_index_beyond_class_names_is_refused(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.gpkg", [utm_box(0, 0, 5, 5)], ["tailings_dam"])
    with pytest.raises(MinegeoInputError, match="do not fit the 2 classes"):
        rasterize_labels(read_vector_labels(path), ("background", "mine"), GRID, (10, 10), UTM)


# --- MineLabels ---------------------------------------------------------------------


def test_mine_labels_mask_for_a_slice(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "l.gpkg", [utm_box(0, 0, 50, 50)], ["tailings_dam"])
    dataset = MineLabels(path, res=10.0)
    x, y = ORIGIN
    sample = dataset[window(x, y, 1000)]
    assert sample["mask"].shape == (100, 100)
    assert sample["mask"].sum().item() == 2 * 50 * 50


def test_mine_labels_pair_with_an_image_dataset(tmp_path: Path) -> None:
    from torchgeo.datasets import IntersectionDataset

    from minegeo.datasets.sentinel2 import Sentinel2Composite

    image = np.ones((3, 100, 100), dtype=np.float32)
    write_tif(tmp_path / "scenes" / "scene.tif", image, GRID, names=("B2", "B3", "B4"))
    square = gpd.GeoSeries([utm_box(20, 20, 40, 40)], crs=UTM).to_crs("EPSG:4326")
    labels = write_labels(tmp_path / "l.geojson", list(square), ["mine"], crs="EPSG:4326")
    dataset = Sentinel2Composite(tmp_path / "scenes") & MineLabels(labels)
    assert isinstance(dataset, IntersectionDataset)
    x, y = ORIGIN
    sample = dataset[window(x, y, 1000)]
    assert sample["image"].shape == (3, 100, 100)
    assert sample["mask"][30, 30].item() == 1 and sample["mask"][5, 5].item() == 0


def test_mine_labels_without_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="no label files"):
        MineLabels(tmp_path)


# --- MaskedPatches ------------------------------------------------------------------


def make_patches(root: Path, sizes: dict[int, int], mask_value: int = 1) -> Path:
    """Patches img_N (3 bands B2,B3,B4) with mask_N: a 4x4 block of mask_value at the corner."""
    for number, size in sizes.items():
        transform = from_origin(ORIGIN[0] + 10_000 * number, ORIGIN[1], 10.0, 10.0)
        image = np.full((3, size, size), 0.1, dtype=np.float32)
        mask = np.zeros((1, size, size), dtype=np.uint8)
        mask[0, :4, :4] = mask_value
        write_tif(root / "img" / f"img_{number}.tif", image, transform, names=("B2", "B3", "B4"))
        write_tif(root / "mask" / f"mask_{number}.tif", mask, transform)
    return root


def test_patch_samples_hold_image_mask_and_path(tmp_path: Path) -> None:
    dataset = MaskedPatches(make_patches(tmp_path, {3: 8, 12: 8}), bands=["B4", "B2"])
    sample = dataset[1]
    assert sample["path"].endswith("img_3.tif") and len(dataset) == 2
    assert sample["image"].shape == (2, 8, 8) and sample["image"].dtype.is_floating_point
    assert sample["mask"][0, 0].item() == 2 and sample["mask"][7, 7].item() == 0


def test_small_patch_is_padded_with_ignored_pixels(tmp_path: Path) -> None:
    sample = MaskedPatches(make_patches(tmp_path, {1: 6}), patch_size=10)[0]
    assert sample["image"].shape == (3, 10, 10) and sample["mask"].shape == (10, 10)
    assert sample["image"].isnan().sum().item() == 3 * (100 - 36)
    assert (sample["mask"] == IGNORE_INDEX).sum().item() == 100 - 36
    assert sample["mask"][2, 2].item() == 2


def test_large_patch_is_centre_cropped(tmp_path: Path) -> None:
    sample = MaskedPatches(make_patches(tmp_path, {1: 12}), patch_size=8)[0]
    assert sample["mask"].shape == (8, 8)
    assert (sample["mask"] == 2).sum().item() == 4  # rows/cols 2-3 of the 4x4 block survive


def test_image_without_mask_is_refused(tmp_path: Path) -> None:
    root = make_patches(tmp_path, {1: 4, 2: 4})
    (root / "mask" / "mask_2.tif").unlink()
    with pytest.raises(MinegeoInputError, match=r"img_2\.tif: no matching file in .*mask"):
        MaskedPatches(root)


def test_mask_without_image_is_refused(tmp_path: Path) -> None:
    root = make_patches(tmp_path, {1: 4, 2: 4})
    (root / "img" / "img_1.tif").unlink()
    with pytest.raises(MinegeoInputError, match=r"mask_1\.tif: no matching file in .*img"):
        MaskedPatches(root)


def test_mask_on_another_place_is_refused(tmp_path: Path) -> None:
    root = make_patches(tmp_path, {1: 4})
    shifted = from_origin(ORIGIN[0] + 10_500, ORIGIN[1], 10.0, 10.0)
    write_tif(root / "mask" / "mask_1.tif", np.zeros((1, 4, 4), dtype=np.uint8), shifted)
    with pytest.raises(MinegeoInputError, match=r"mask_1\.tif: bounds .* differ from .*img_1\.tif"):
        MaskedPatches(root)


def test_mask_in_another_crs_is_refused(tmp_path: Path) -> None:
    root = make_patches(tmp_path, {1: 4})
    grid = from_origin(ORIGIN[0] + 10_000, ORIGIN[1], 10.0, 10.0)
    write_tif(root / "mask" / "mask_1.tif", np.zeros((1, 4, 4), dtype=np.uint8), grid, crs="EPSG:32722")
    with pytest.raises(MinegeoInputError, match=r"mask_1\.tif: CRS EPSG:32722 differs from .*img_1\.tif"):
        MaskedPatches(root)


def test_mask_at_finer_pixels_is_resampled_onto_the_image(tmp_path: Path) -> None:
    root = make_patches(tmp_path, {1: 4})
    fine = np.zeros((1, 8, 8), dtype=np.uint8)
    fine[0, :, :4] = 1  # left half
    write_tif(root / "mask" / "mask_1.tif", fine, from_origin(ORIGIN[0] + 10_000, ORIGIN[1], 5.0, 5.0))
    mask = MaskedPatches(root)[0]["mask"]
    assert mask[:, :2].eq(2).all() and mask[:, 2:].eq(0).all()


def test_mask_value_without_class_is_refused(tmp_path: Path) -> None:
    dataset = MaskedPatches(make_patches(tmp_path, {1: 4}, mask_value=7))
    with pytest.raises(MinegeoInputError, match=r"mask_1\.tif: mask value\(s\) 7 have no class"):
        dataset[0]


def test_missing_band_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"img_1\.tif: missing band\(s\) B8"):
        MaskedPatches(make_patches(tmp_path, {1: 4}), bands=["B8"])


def test_footprints_are_the_image_bounds(tmp_path: Path) -> None:
    footprints = MaskedPatches(make_patches(tmp_path, {1: 4})).footprints()
    assert footprints.crs.to_epsg() == 32723
    x, y = ORIGIN[0] + 10_000, ORIGIN[1]  # img_1 lies 10 km east of ORIGIN
    assert footprints.geometry.iloc[0].equals(shapely.box(x, y - 40, x + 40, y))


# --- synthetic world ----------------------------------------------------------------


def test_small_world_labels_read_and_pair_with_scenes(small_world: Path) -> None:
    from minegeo.datasets.sentinel2 import Sentinel2Composite

    labels = read_vector_labels(small_world / "labels.gpkg")
    assert set(labels["class_name"]) == {"mine", "tailings_dam"}
    scenes = Sentinel2Composite(small_world / "scenes")
    dataset = scenes & MineLabels(small_world / "labels.gpkg")
    first = labels.to_crs(scenes.crs).geometry.iloc[0].centroid
    x, y = round(first.x / 10) * 10, round(first.y / 10) * 10
    sample = dataset[window(x - 320, y + 320, 640)]
    assert sample["mask"].shape == (64, 64) and sample["mask"][32, 32].item() in (1, 2)


def test_a_time_series_samples_one_period_with_its_own_outlines(small_series_world: Path) -> None:
    from minegeo.datasets.sentinel2 import Sentinel2Composite

    scenes = Sentinel2Composite(small_series_world / "scenes")
    labels = MineLabels(small_series_world / "labels_by_period.gpkg", crs=scenes.crs, res=scenes.res)
    painted = gpd.read_file(small_series_world / "labels.gpkg")
    dataset = scenes & labels
    for row in scenes.index.itertuples():
        place, period = Path(row.filepath).stem.split(".")
        xmin, ymin, xmax, ymax = row.geometry.bounds
        sample = dataset[xmin:xmax:10.0, ymin:ymax:10.0, row.Index.left : row.Index.right]
        with rasterio.open(row.filepath) as src:
            own = src.read(1)
        # the period's own pixels (its clouds), not a mosaic of the place's periods
        assert np.array_equal(np.isnan(sample["image"][0].numpy()), np.isnan(own))
        area = painted.loc[painted["scene"] == place, f"area_m2_{period}"].sum()
        assert (sample["mask"] > 0).sum().item() * 100 == area


def test_labels_without_a_period_hold_at_every_period(small_series_world: Path) -> None:
    from minegeo.datasets.sentinel2 import Sentinel2Composite

    scenes = Sentinel2Composite(small_series_world / "scenes")
    dataset = scenes & MineLabels(small_series_world / "labels.gpkg", crs=scenes.crs, res=scenes.res)
    masks = []
    for row in scenes.index[scenes.index["filepath"].str.contains("scene_00")].itertuples():
        xmin, ymin, xmax, ymax = row.geometry.bounds
        masks.append(dataset[xmin:xmax:10.0, ymin:ymax:10.0, row.Index.left : row.Index.right]["mask"])
    assert len(masks) == 4 and all(np.array_equal(masks[0], mask) for mask in masks)


def test_a_label_period_that_is_not_a_period_is_named_with_its_file(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"class": ["mine"], "period": ["spring"]}, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:32723"
    )
    path = tmp_path / "labels.gpkg"
    frame.to_file(path)
    with pytest.raises(MinegeoInputError, match=rf"^{path}: column 'period': period 'spring' is not valid"):
        MineLabels(path)


# --- real data ----------------------------------------------------------------------


@pytest.mark.real_data
def test_real_tailings_patches_load_with_aligned_masks(shared_data: Path) -> None:
    dataset = MaskedPatches(shared_data / "tailings_seg", patch_size=448)
    assert len(dataset) == 60 and dataset.bands == ("B2", "B3", "B4")
    for index in range(len(dataset)):
        sample = dataset[index]
        assert sample["image"].shape == (3, 448, 448)
        values = set(np.unique(sample["mask"].numpy()).tolist())
        assert 2 in values and values <= {0, 2, IGNORE_INDEX}


@pytest.mark.real_data
def test_real_truncated_patch_is_padded_and_its_padding_ignored(shared_data: Path) -> None:
    dataset = MaskedPatches(shared_data / "tailings_seg", patch_size=448)
    sample = dataset[[Path(p).name for p, _ in dataset.pairs].index("img_23.tif")]
    padding = sample["mask"] == IGNORE_INDEX
    assert padding.sum().item() == 448 * 400  # the image is 48 px wide
    assert sample["image"][:, padding].isnan().all() and not sample["image"][:, ~padding].isnan().any()


@pytest.mark.real_data
def test_real_footprints_cover_every_patch(shared_data: Path) -> None:
    footprints = MaskedPatches(shared_data / "tailings_seg").footprints()
    assert len(footprints) == 60 and footprints.crs.to_epsg() == 4326
    assert footprints.geometry.is_valid.all()


@pytest.mark.real_data
def test_real_amazon_points_are_buffered_discs(shared_data: Path) -> None:
    path = shared_data / "amazon_mining_watch" / "MinesPos2018-2020Sentinel_points.geojson"
    labels = read_vector_labels(path, default_class="mine", point_radius_m=100.0)
    areas = labels.to_crs(labels.estimate_utm_crs()).area
    assert len(labels) == 95 and set(labels["class_index"]) == {1}
    assert areas.between(0.98 * math.pi * 1e4, 1.02 * math.pi * 1e4).all()


@pytest.mark.real_data
def test_real_amazon_polygons_rasterize_on_a_utm_grid(shared_data: Path) -> None:
    path = shared_data / "amazon_mining_watch" / "mining_2023_simplified.geojson"
    labels = read_vector_labels(path, default_class="mine")
    assert len(labels) == 5573
    site = labels.iloc[[0]]
    utm = site.estimate_utm_crs()
    centre = site.to_crs(utm).geometry.iloc[0].representative_point()
    transform = from_origin(round(centre.x) - 640, round(centre.y) + 640, 10.0, 10.0)
    mask = rasterize_labels(labels, SEGMENTATION_CLASSES, transform, (128, 128), utm)
    assert mask[64, 64] == 1 and set(np.unique(mask)) == {0, 1}
