"""Sites across periods: matching, the temporal consistency rule, statuses."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from minegeo.change.params import ChangeParams
from minegeo.change.sites import counted_periods, match_sites, site_status
from minegeo.errors import MinegeoInputError

LABELS = ["2019", "2020", "2021"]


def detections(
    rows: list[tuple[str, float, float, float]], registered: list[bool] | None = None
) -> gpd.GeoDataFrame:
    """Square detections (period, x, y, side in m) in UTM 23S, returned in EPSG:4326."""
    squares = [shapely.box(x, y, x + side, y + side) for _, x, y, side in rows]
    frame = gpd.GeoDataFrame(
        {"period": [r[0] for r in rows], "area_m2": [r[3] ** 2 for r in rows]},
        geometry=squares,
        crs="EPSG:32723",
    )
    if registered is not None:
        frame["registered"] = registered
    return frame.to_crs("EPSG:4326")


def statuses(frame: gpd.GeoDataFrame, **params: object) -> list[str]:
    sites, _ = match_sites(frame, LABELS, "p", ChangeParams(**params))  # type: ignore[arg-type]
    return list(sites["status"])


def test_overlapping_detections_of_all_periods_are_one_stable_site() -> None:
    frame = detections([(y, 600_000, 7_790_000, 200) for y in LABELS])
    sites, members = match_sites(frame, LABELS, "p", ChangeParams())
    assert list(sites["site_id"]) == ["p-0001"] and list(sites["status"]) == ["stable"]
    assert (sites["first_period"][0], sites["last_period"][0]) == ("2019", "2021")
    assert sites["area_m2_2020"][0] == pytest.approx(40_000) and set(members["site_id"]) == {"p-0001"}


def test_a_site_counting_from_a_later_period_is_new() -> None:
    frame = detections([("2020", 600_000, 7_790_000, 200), ("2021", 600_000, 7_790_000, 220)])
    sites, _ = match_sites(frame, LABELS, "p", ChangeParams())
    assert list(sites["status"]) == ["new"] and sites["first_period"][0] == "2020"
    assert sites["area_m2_2019"][0] == 0


def test_a_site_missing_from_the_last_period_is_gone() -> None:
    assert statuses(detections([("2019", 600_000, 7_790_000, 200), ("2020", 600_000, 7_790_000, 200)])) == [
        "gone"
    ]


@pytest.mark.parametrize(
    ("sides", "expected"),
    [((100, 120, 150), "growing"), ((150, 140, 100), "shrinking"), ((100, 105, 110), "stable")],
)
def test_area_ratio_makes_growing_shrinking_or_stable(sides: tuple[int, ...], expected: str) -> None:
    frame = detections([(y, 600_000, 7_790_000, s) for y, s in zip(LABELS, sides, strict=True)])
    assert statuses(frame) == [expected]


def test_a_one_period_false_alarm_is_removed() -> None:
    frame = detections([("2020", 600_000, 7_790_000, 100)])
    sites, members = match_sites(frame, LABELS, "p", ChangeParams())
    assert sites.empty and members.empty


def test_the_rule_can_be_switched_off() -> None:
    assert statuses(detections([("2020", 600_000, 7_790_000, 100)]), confirm=False) == ["gone"]


def test_a_site_first_seen_in_the_last_period_is_kept_unconfirmed() -> None:
    sites, _ = match_sites(detections([("2021", 600_000, 7_790_000, 100)]), LABELS, "p", ChangeParams())
    assert list(sites["status"]) == ["new"] and not sites["confirmed"][0]
    assert match_sites(
        detections([("2021", 600_000, 7_790_000, 100)]), LABELS, "p", ChangeParams(keep_last=False)
    )[0].empty


def test_a_gap_of_one_period_keeps_the_site_and_its_other_periods() -> None:
    frame = detections(
        [(y, 600_000, 7_790_000, 100) for y in ("2019", "2021")] + [("2020", 600_000, 7_790_000, 100)]
    )
    assert statuses(frame.iloc[[0, 2, 1]]) == ["stable"]


def test_detections_within_the_match_distance_join_and_beyond_stay_apart() -> None:
    rows = [(y, 600_000, 7_790_000, 100) for y in LABELS] + [(y, 600_150, 7_790_000, 100) for y in LABELS]
    assert len(statuses(detections(rows), match_distance_m=60)) == 1
    assert len(statuses(detections(rows), match_distance_m=40)) == 2


def test_site_ids_follow_first_period_then_north_to_south() -> None:
    rows = [(y, 600_000, 7_780_000, 100) for y in LABELS] + [
        (y, 600_000, 7_790_000, 100) for y in ("2020", "2021")
    ]
    rows += [(y, 605_000, 7_795_000, 100) for y in LABELS]
    sites, _ = match_sites(detections(rows), LABELS, "p", ChangeParams())
    assert list(zip(sites["site_id"], sites["status"], strict=True)) == [
        ("p-0001", "stable"),
        ("p-0002", "stable"),
        ("p-0003", "new"),
    ]
    assert sites["lat"][0] > sites["lat"][1]


def test_a_site_is_registered_when_any_of_its_detections_is() -> None:
    frame = detections([(y, 600_000, 7_790_000, 100) for y in LABELS], registered=[False, True, False])
    sites, _ = match_sites(frame, LABELS, "p", ChangeParams())
    assert bool(sites["registered"][0])


def test_site_centre_is_in_lon_lat() -> None:
    sites, _ = match_sites(
        detections([(y, 600_000, 7_790_000, 200) for y in LABELS]), LABELS, "p", ChangeParams()
    )
    assert -45 < sites["lon"][0] < -43 and -20 < sites["lat"][0] < -19


def test_counted_periods_applies_per_pixel_too() -> None:
    seen = np.array([[True, False, True], [True, True, False], [False, False, True]])
    assert counted_periods(seen, ChangeParams()).tolist() == [
        [False, False, True],
        [True, True, False],
        [False, False, True],
    ]


def test_site_status_of_counted_periods() -> None:
    assert site_status(np.array([False, True, True]), np.array([0.0, 5.0, 5.0]), ChangeParams()) == "new"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"match_distance_m": -1}, r"change_rules.match_distance_m=-1: expected a distance >= 0"),
        ({"growth": 0}, r"change_rules.growth=0: expected a share > 0"),
        ({"top_n": -2}, r"change_rules.top_n=-2"),
    ],
)
def test_bad_params_are_one_line(params: dict[str, float], message: str) -> None:
    with pytest.raises(MinegeoInputError, match=message):
        ChangeParams(**params)  # type: ignore[arg-type]
