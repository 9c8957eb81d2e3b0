"""Export tasks: destinations, CRS, pixel counts and size estimates."""

from __future__ import annotations

import pytest

from minegeo import SENTINEL2_BANDS
from minegeo.earthengine.geodesy import square_bounds
from minegeo.earthengine.grid import ScanTile
from minegeo.earthengine.plan import Destination, pixel_shape, plan_tasks, resolve_crs
from minegeo.earthengine.regions import PatchRegion
from minegeo.errors import MinegeoInputError

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
