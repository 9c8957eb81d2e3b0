"""Tests for reference polygons rasterised onto each map's grid."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from minegeo.errors import MinegeoInputError
from minegeo.evaluation.maps import read_map_header
from minegeo.evaluation.polygons import PolygonLabels
from minegeo.evaluation.reference import ScenePair
from tests.evaluation.rasters import UTM, write_map

CLASSES = ("background", "mine", "tailings_dam")


def _labels(path: Path, classes: list[str], crs: str = UTM) -> Path:
    # 40 x 40 m boxes 20 m in from the grid's north-west corner (500000, 8000000)
    boxes = [box(500_020, 7_999_940, 500_060, 7_999_980), box(500_100, 7_999_860, 500_120, 7_999_880)]
    frame = gpd.GeoDataFrame({"class": classes}, geometry=boxes, crs=UTM).to_crs(crs)
    frame.to_file(path)
    return path


def test_polygons_are_burnt_on_the_map_grid(tmp_path: Path) -> None:
    path = _labels(tmp_path / "labels.gpkg", ["tailings_dam", "mine"])
    prob_map = read_map_header(write_map(tmp_path / "a.prob.tif", np.zeros((3, 20, 20)), CLASSES))
    labels = PolygonLabels(path, CLASSES)
    reference = labels.load(ScenePair(prob_map, path))
    assert labels.classes == ("mine", "tailings_dam")
    expected = np.zeros((20, 20), dtype=bool)
    expected[2:6, 2:6] = True
    assert np.array_equal(reference.truth["tailings_dam"], expected)
    assert reference.truth["mine"].sum() == 4 and reference.valid.all()


def test_polygons_in_another_crs_land_on_the_same_pixels(tmp_path: Path) -> None:
    path = _labels(tmp_path / "labels.geojson", ["tailings_dam", "tailings_dam"], crs="EPSG:4326")
    prob_map = read_map_header(write_map(tmp_path / "a.prob.tif", np.zeros((2, 20, 20))))
    reference = PolygonLabels(path, prob_map.classes).load(ScenePair(prob_map, path))
    assert reference.truth["tailings_dam"][2:6, 2:6].all() and reference.truth["tailings_dam"].sum() == 20


def test_class_the_maps_lack_is_refused(tmp_path: Path) -> None:
    path = _labels(tmp_path / "labels.gpkg", ["tailings_dam", "mine"])
    with pytest.raises(
        MinegeoInputError, match=r"labels\.gpkg: class mine in 'class' is not a class of the maps"
    ):
        PolygonLabels(path, ("background", "tailings_dam"))


def test_missing_class_column_is_named(tmp_path: Path) -> None:
    path = _labels(tmp_path / "labels.gpkg", ["tailings_dam", "mine"])
    with pytest.raises(MinegeoInputError, match="no class column 'kind'"):
        PolygonLabels(path, CLASSES, class_column="kind")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_file_without_crs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.gpkg"
    gpd.GeoDataFrame({"class": ["mine"]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(MinegeoInputError, match="no CRS"):
        PolygonLabels(path, CLASSES)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"labels\.gpkg: label file not found"):
        PolygonLabels(tmp_path / "labels.gpkg", CLASSES)


def test_points_are_left_out_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "labels.gpkg"
    geometry = [box(500_020, 7_999_940, 500_060, 7_999_980), Point(500_100, 7_999_900)]
    gpd.GeoDataFrame({"class": ["tailings_dam", "mine"]}, geometry=geometry, crs=UTM).to_file(path)
    labels = PolygonLabels(path, CLASSES)
    assert labels.classes == ("tailings_dam",)
    assert "1 features that are not polygons left out" in caplog.text
