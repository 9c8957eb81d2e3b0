"""Registry cross-check with tiny concession and dam frames."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from minegeo.detection.registry_check import cross_check, load_registries, registry_features
from minegeo.errors import MinegeoInputError

TO_LONLAT = Transformer.from_crs("EPSG:32723", "EPSG:4326", always_xy=True)


def concessions() -> gpd.GeoDataFrame:
    """One 1 km concession in UTM 23S (registries come in their own CRS)."""
    return gpd.GeoDataFrame(
        {"process": ["830.001/2010"]},
        geometry=[box(500_000, 8_000_000, 501_000, 8_001_000)],
        crs="EPSG:32723",
    )


def dams() -> gpd.GeoDataFrame:
    lon, lat = TO_LONLAT.transform(505_000.0, 8_000_000.0)
    return gpd.GeoDataFrame({"dam_id": [42]}, geometry=[Point(lon, lat)], crs="EPSG:4326")


def detections_at(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    lons, lats = TO_LONLAT.transform([p[0] for p in xy], [p[1] for p in xy])
    frame = {"id": [f"d{i}" for i in range(len(xy))], "lon": lons, "lat": lats}
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")


def test_detection_inside_concession_is_registered_at_zero() -> None:
    checked = cross_check(detections_at([(500_500, 8_000_500)]), registry_features(concessions(), dams()))

    row = checked.iloc[0]
    assert row["registered"] and row["registry_distance_m"] == 0.0
    assert row["registry_id"] == "830.001/2010" and row["registry_kind"] == "concession"


def test_detection_near_dam_gets_metric_distance() -> None:
    detections = detections_at([(505_100, 8_000_000)])

    strict = cross_check(detections, registry_features(concessions(), dams()))
    tolerant = cross_check(detections, registry_features(concessions(), dams()), max_distance_m=150.0)

    assert strict["registry_distance_m"].iloc[0] == pytest.approx(100.0, abs=0.5)
    assert strict["nearest_registry_id"].iloc[0] == "42" and strict["registry_kind"].iloc[0] == "dam"
    assert not strict["registered"].iloc[0] and strict["registry_id"].iloc[0] is None
    assert tolerant["registered"].iloc[0] and tolerant["registry_id"].iloc[0] == "42"


def test_polygon_detection_overlapping_concession_is_registered() -> None:
    corner = box(500_900, 8_000_900, 501_100, 8_001_100)
    lon, lat = TO_LONLAT.transform(501_000, 8_001_000)
    polygon = gpd.GeoSeries([corner], crs="EPSG:32723").to_crs("EPSG:4326")
    detections = gpd.GeoDataFrame({"id": ["p"], "lon": [lon], "lat": [lat]}, geometry=polygon)

    checked = cross_check(detections, registry_features(concessions()))

    assert checked["registered"].iloc[0] and checked["registry_distance_m"].iloc[0] == 0.0


def test_without_registry_every_detection_is_unregistered() -> None:
    checked = cross_check(detections_at([(500_500, 8_000_500)]), None)

    assert not checked["registered"].iloc[0]
    assert np.isnan(checked["registry_distance_m"].iloc[0]) and checked["nearest_registry_id"].iloc[0] is None


def test_empty_detections_keep_registry_columns() -> None:
    checked = cross_check(detections_at([]), registry_features(concessions()))

    assert checked.empty and {"registered", "registry_distance_m", "registry_id"} <= set(checked.columns)


def test_load_registries_reads_concession_file(tmp_path: Path) -> None:
    path = tmp_path / "registered.gpkg"
    concessions().rename(columns={"process": "PROCESSO"}).to_file(path)

    registry, bad_rows = load_registries(path, None)

    assert registry is not None and list(registry["registry_id"]) == ["830.001/2010"]
    assert registry.crs.to_epsg() == 4326 and bad_rows == []


def test_load_registries_without_files_is_none() -> None:
    assert load_registries(None, None) == (None, [])


def test_concessions_in_metres_labelled_lonlat_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "utm_as_wgs84.geojson"
    frame = gpd.GeoDataFrame({"PROCESSO": ["1"]}, geometry=[box(500_000, 8_000_000, 500_100, 8_000_100)])
    frame.set_crs("EPSG:4326").to_file(path)  # GeoJSON: WGS84 whatever the numbers say

    with pytest.raises(MinegeoInputError, match=r"utm_as_wgs84.geojson: bounds .* are not degrees"):
        load_registries(path, None)
