"""Patch squares around sites, and negatives sampled away from positives."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from minegeo.earthengine.regions import hard_negatives, patch_regions, sample_negatives
from minegeo.errors import MinegeoInputError

GEOD = Geod(ellps="WGS84")


def sites(*rows: tuple[str, str, shapely.Geometry], side: float = math.nan) -> gpd.GeoDataFrame:
    ids, labels, geometry = zip(*rows, strict=True)
    frame = {"site_id": list(ids), "label": list(labels), "side_m": [side] * len(ids)}
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=4326)


def test_patch_is_a_square_of_the_configured_side() -> None:
    (region,) = patch_regions(sites(("1", "mine", shapely.Point(-43.9, -19.9))), side_m=2010.0)
    west, south, east, north = region.bounds
    _, _, width = GEOD.inv(west, -19.9, east, -19.9)
    _, _, height = GEOD.inv(-43.9, south, -43.9, north)
    assert width == pytest.approx(2010.0, abs=0.5) and height == pytest.approx(2010.0, abs=0.5)


def test_row_side_overrides_the_configured_side() -> None:
    (region,) = patch_regions(sites(("1", "mine", shapely.Point(-43.9, -19.9)), side=500.0), side_m=2010.0)
    _, _, width = GEOD.inv(region.bounds[0], -19.9, region.bounds[2], -19.9)
    assert width == pytest.approx(500.0, abs=0.5)


def test_corner_boxes_keep_their_bounds() -> None:
    box = shapely.box(-44.0, -20.1, -43.9, -20.0)
    (region,) = patch_regions(sites(("1", "mine", box)), side_m=2010.0)
    assert region.bounds == pytest.approx(box.bounds)


def test_polygon_patch_is_centred_inside_the_polygon() -> None:
    ring = shapely.box(-44.0, -20.1, -43.9, -20.0).difference(shapely.box(-43.99, -20.09, -43.91, -20.01))
    (region,) = patch_regions(sites(("1", "mine", ring)), side_m=1000.0)
    assert shapely.box(*region.bounds).intersects(ring)


def test_names_are_label_and_sanitized_unique_id() -> None:
    point = shapely.Point(-44, -20)
    regions = patch_regions(sites(("830.001/2010", "mine", point), ("830 001 2010", "mine", point)), 100.0)
    assert [r.name for r in regions] == ["mine_830_001_2010", "mine_830_001_2010_2"]
    assert [r.label for r in regions] == ["mine", "mine"]


POSITIVES = sites(("1", "mine", shapely.Point(-43.9, -20.0)), ("2", "mine", shapely.Point(-43.8, -20.05)))
DOMAIN = shapely.box(-44.2, -20.3, -43.5, -19.7)


def test_negatives_keep_the_minimum_distance() -> None:
    negatives = sample_negatives(POSITIVES, DOMAIN, count=50, min_distance_m=5000.0, seed=0)
    for point in negatives.geometry:
        for positive in POSITIVES.geometry:
            assert GEOD.inv(point.x, point.y, positive.x, positive.y)[2] >= 5000.0 * 0.995


def test_negatives_fall_inside_the_domain_with_their_label_and_ids() -> None:
    negatives = sample_negatives(POSITIVES, DOMAIN, count=5, min_distance_m=1000.0, seed=0)
    assert all(DOMAIN.contains(p) for p in negatives.geometry)
    assert list(negatives["label"]) == ["not_mine"] * 5
    assert list(negatives["site_id"]) == ["00001", "00002", "00003", "00004", "00005"]


def test_negatives_are_seeded() -> None:
    first = sample_negatives(POSITIVES, DOMAIN, count=5, min_distance_m=1000.0, seed=3)
    again = sample_negatives(POSITIVES, DOMAIN, count=5, min_distance_m=1000.0, seed=3)
    other = sample_negatives(POSITIVES, DOMAIN, count=5, min_distance_m=1000.0, seed=4)
    assert first.geometry.equals(again.geometry) and not first.geometry.equals(other.geometry)


def test_negatives_keep_off_a_whole_positive_polygon() -> None:
    concession = sites(("1", "mine", shapely.box(-44.0, -20.2, -43.6, -19.8)))
    negatives = sample_negatives(concession, DOMAIN, count=30, min_distance_m=2000.0, seed=0)
    assert not any(concession.geometry.iloc[0].buffer(0.015).contains(p) for p in negatives.geometry)


def test_impossible_negatives_are_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"only 0 of 3 sites fit at least 100000 m"):
        sample_negatives(POSITIVES, DOMAIN, count=3, min_distance_m=100_000.0, seed=0)


def test_hard_negatives_are_relabelled_and_filtered() -> None:
    lookalikes = sites(
        ("7", "lake", shapely.Point(-43.5, -19.8)), ("8", "city", shapely.Point(-43.901, -20.0))
    )
    kept = hard_negatives(lookalikes, POSITIVES, min_distance_m=1000.0)
    assert list(kept["site_id"]) == ["lake_7"] and list(kept["label"]) == ["not_mine"]
