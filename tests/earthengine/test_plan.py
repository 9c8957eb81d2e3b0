"""Export tasks: destinations, CRS, pixel counts and size estimates."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from minegeo import SENTINEL2_BANDS
from minegeo.earthengine.geodesy import square_bounds
from minegeo.earthengine.grid import ScanTile
from minegeo.earthengine.plan import Destination, pixel_grid, pixel_shape, plan_tasks, resolve_crs
from minegeo.earthengine.regions import PatchRegion
from minegeo.errors import MinegeoInputError
from minegeo.periods import parse_periods

PATCH = PatchRegion("mine_7", "mine", square_bounds(-19.9, -43.9, 2010.0))
TILE = ScanTile("scan_mg_r000_c001", 0, 1, (-44.4, -19.5, -43.6, -18.7))


def test_gcs_patch_lands_under_its_class_folder() -> None:
    (task,) = plan_tasks(
        [PATCH], Destination("gcs", bucket="b", prefix="runs/2019"), "EPSG:4326", 10, SENTINEL2_BANDS
    )
    assert (task.container, task.file_prefix) == ("b", "runs/2019/mine/mine_7")
    assert task.uri == "gs://b/runs/2019/mine/mine_7.tif"


def test_gcs_prefix_segments_are_sanitized() -> None:
    assert Destination("gcs", bucket="b", prefix="/x y/é/").locate("mine", "mine_1") == (
        "b",
        "x_y/e/mine/mine_1",
    )


def test_gcs_prefix_with_dot_dot_is_refused() -> None:
    with pytest.raises(
        MinegeoInputError, match=r"destination.prefix '../x' has a part without letters or digits"
    ):
        Destination("gcs", bucket="b", prefix="../x")


def test_drive_gets_one_folder_per_class() -> None:
    (patch, tile) = plan_tasks(
        [PATCH, TILE], Destination("drive", folder="minegeo"), "EPSG:4326", 10, ("B2",)
    )
    assert (patch.container, patch.file_prefix) == ("minegeo_mine", "mine_7")
    assert (tile.container, tile.file_prefix, tile.kind) == ("minegeo_scan", "scan_mg_r000_c001", "tile")


def test_gcs_needs_a_bucket() -> None:
    with pytest.raises(MinegeoInputError, match=r"destination.bucket is empty"):
        Destination("gcs")


def test_geographic_patch_pixels_use_earth_engine_degrees() -> None:
    width, height = pixel_shape(PATCH.bounds, "EPSG:4326", 10)
    # 2010 m is 201 px north-south (plus the meridian's 1%), and wider in degrees east-west.
    assert height == 203 and width == 214


def test_utm_patch_is_about_201_px() -> None:
    width, height = pixel_shape(PATCH.bounds, resolve_crs("utm", PATCH.bounds), 10)
    assert 201 <= width <= 203 and 201 <= height <= 203


def test_estimated_bytes_are_float32_per_band() -> None:
    (task,) = plan_tasks([PATCH], Destination(), "EPSG:4326", 10, SENTINEL2_BANDS)
    assert task.estimated_bytes == task.width * task.height * 12 * 4
    assert task.pixels == task.width * task.height


def test_utm_resolves_to_the_zone_of_the_centre() -> None:
    assert resolve_crs("utm", PATCH.bounds) == "EPSG:32723"
    assert resolve_crs("epsg:32723", PATCH.bounds) == "EPSG:32723"


def test_unknown_crs_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"collection.crs 'EPSG:99999' is not a CRS"):
        resolve_crs("EPSG:99999", PATCH.bounds)


def test_wkt_is_the_region_in_degrees() -> None:
    (task,) = plan_tasks([TILE], Destination(), "EPSG:4326", 10, ("B2",))
    assert task.wkt.startswith("POLYGON ((-43.6 -19.5, -43.6 -18.7")


def test_periods_give_one_task_each_with_the_period_in_the_name() -> None:
    periods = parse_periods([2019, "2020"])
    tasks = plan_tasks([PATCH, TILE], Destination("drive", folder="minegeo"), "utm", 10, ("B2",), periods)
    assert [t.name for t in tasks] == [
        "mine_7.2019",
        "scan_mg_r000_c001.2019",
        "mine_7.2020",
        "scan_mg_r000_c001.2020",
    ]
    assert [t.file_prefix for t in tasks] == [t.name for t in tasks]
    assert [t.period.label for t in tasks if t.period] == ["2019", "2019", "2020", "2020"]


def test_periods_of_one_place_share_its_grid() -> None:
    first, second = plan_tasks([TILE], Destination(), "utm", 10, ("B2",), parse_periods([2019, 2020]))
    assert (first.crs, first.crs_transform, first.width, first.height) == (
        second.crs,
        second.crs_transform,
        second.width,
        second.height,
    )


@pytest.mark.parametrize("crs", ["utm", "EPSG:4326"])
def test_grid_corner_is_snapped_to_whole_pixels(crs: str) -> None:
    (task,) = plan_tasks([PATCH], Destination(), crs, 10, ("B2",))
    step, _, left, _, minus_step, top = task.crs_transform
    assert minus_step == -step and round(left / step, 6).is_integer() and round(top / step, 6).is_integer()


def test_grid_covers_the_region() -> None:
    transform, width, height = pixel_grid(PATCH.bounds, "EPSG:32723", 10)
    left, bottom, right, top = Transformer.from_crs(4326, 32723, always_xy=True).transform_bounds(
        *PATCH.bounds, densify_pts=21
    )
    assert transform[2] <= left and transform[2] + width * 10 >= right
    assert transform[5] >= top and transform[5] - height * 10 <= bottom
    assert width - (right - left) / 10 < 2


def test_uint16_halves_the_estimated_bytes() -> None:
    (float32,) = plan_tasks([TILE], Destination(), "utm", 10, SENTINEL2_BANDS)
    (uint16,) = plan_tasks([TILE], Destination(), "utm", 10, SENTINEL2_BANDS, dtype="uint16")
    assert float32.estimated_bytes == float32.pixels * 12 * 4 == 2 * uint16.estimated_bytes
    assert (uint16.encoding.value_scale, uint16.encoding.nodata) == (1e-4, 0)
