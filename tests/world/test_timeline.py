"""The synthetic world with periods: places at every period, lives of mines, determinism."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from minegeo.errors import MinegeoInputError
from minegeo.world.features import Feature
from minegeo.world.make import make_world
from minegeo.world.timeline import Lifecycle, draw_lifecycles, period_labels

PERIODS = ["2019", "2020", "2021", "2022"]


@pytest.fixture
def series(small_series_world: Path) -> Path:
    return small_series_world


def _checksums(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _mines(count: int) -> list[Feature]:
    return [Feature(f"m{i:04d}", "mine", 0.0, 0.0, 20.0, {"r": 15.0}) for i in range(count)]


def test_every_place_is_written_at_every_period(series: Path) -> None:
    names = sorted(p.name for p in (series / "scenes").glob("*.tif"))
    assert names == [f"scene_{i:02d}.{y}.tif" for i in range(2) for y in PERIODS]
    assert json.loads((series / "world.json").read_text())["periods"] == PERIODS


def test_periods_of_a_place_share_one_grid(series: Path) -> None:
    grids = set()
    for year in PERIODS:
        with rasterio.open(series / "scenes" / f"scene_00.{year}.tif") as src:
            grids.add((src.crs.to_string(), tuple(src.transform), src.width, src.height))
    assert len(grids) == 1


def test_labels_gain_first_and_last_period_and_area_per_period(series: Path) -> None:
    labels = gpd.read_file(series / "labels.gpkg")
    assert {"first_period", "last_period", "life", *(f"area_m2_{y}" for y in PERIODS)} <= set(labels.columns)
    for row in labels.itertuples():
        seen = [y for y in PERIODS if getattr(row, f"area_m2_{y}") > 0]
        assert (seen[0], seen[-1]) == (row.first_period, row.last_period)
        assert seen == PERIODS[PERIODS.index(seen[0]) : PERIODS.index(seen[-1]) + 1]


def test_labels_by_period_hold_each_outline_as_painted_in_its_period(series: Path) -> None:
    labels = gpd.read_file(series / "labels.gpkg").set_index("id")
    by_period = gpd.read_file(series / "labels_by_period.gpkg").to_crs("EPSG:32723")
    for row in by_period.itertuples():
        painted = labels.loc[row.id, f"area_m2_{row.period}"]
        assert row.scene.endswith(f".{row.period}")
        assert row.geometry.area == pytest.approx(painted, rel=1e-6)
    seen = {(i, y) for i in labels.index for y in PERIODS if labels.loc[i, f"area_m2_{y}"] > 0}
    assert set(zip(by_period["id"], by_period["period"], strict=True)) == seen


def test_a_new_mine_appears_in_the_scene_when_it_opens(series: Path) -> None:
    labels = gpd.read_file(series / "labels.gpkg").to_crs("EPSG:32723")
    (new,) = labels[labels["life"] == "new"].itertuples()
    before, opened = PERIODS[PERIODS.index(new.first_period) - 1], new.first_period
    centre = new.geometry.representative_point()
    swir = []
    for year in (before, opened):
        with rasterio.open(series / "scenes" / f"{new.scene}.{year}.tif") as src:
            row, col = src.index(centre.x, centre.y)
            b8, b12 = (src.descriptions.index(name) + 1 for name in ("B8", "B12"))
            swir.append(float(src.read(b12)[row, col] - src.read(b8)[row, col]))
    assert swir[0] < 0 < swir[1]  # vegetation (NIR above SWIR) turns to bare pit


def test_vegetation_and_clouds_differ_between_periods(series: Path) -> None:
    with (
        rasterio.open(series / "scenes" / "scene_00.2019.tif") as a,
        rasterio.open(series / "scenes" / "scene_00.2020.tif") as b,
    ):
        first, second = a.read(), b.read()
    assert not np.array_equal(np.isnan(first[0]), np.isnan(second[0]))
    both = ~np.isnan(first[11]) & ~np.isnan(second[11])
    assert abs(float(np.mean(first[11][both] - second[11][both]))) > 1e-3


def test_patches_come_from_mines_seen_in_the_last_period(series: Path) -> None:
    labels = gpd.read_file(series / "labels.gpkg")
    present = set(labels.loc[labels["last_period"] == PERIODS[-1], "id"])
    patched = {
        p.stem.removeprefix("mine_") for p in (series / "patches" / "discovery" / "mine").glob("*.tif")
    }
    assert patched == present


def test_same_seed_same_bytes(series: Path, tmp_path: Path) -> None:
    assert _checksums(make_world(tmp_path / "again", seed=0, size="small", periods=4)) == _checksums(series)


def test_one_period_is_the_world_without_periods(small_world: Path, tmp_path: Path) -> None:
    assert _checksums(make_world(tmp_path / "one", seed=0, size="small", periods=1)) == _checksums(
        small_world
    )


@pytest.mark.parametrize("periods", [0, 13, 2.5, True])
def test_bad_periods_are_refused(tmp_path: Path, periods: object) -> None:
    with pytest.raises(
        MinegeoInputError, match=r"synthetic world periods=.* is not valid; expected a whole number 1..12"
    ):
        make_world(tmp_path / "w", size="small", periods=periods)  # type: ignore[arg-type]


def test_lifecycles_cover_every_life_and_match_their_scales() -> None:
    lives = draw_lifecycles(np.random.default_rng(0), _mines(400), 4)
    assert {life.life for life in lives} == {"stable", "growing", "new", "gone"}
    for life in lives:
        if life.life == "new":
            assert life.first > 0 and life.last == 3
        elif life.life == "gone":
            assert life.first == 0 and life.last < 3
        else:
            assert life.scales[0] > 0 and life.scales[-1] == 1.0
        if life.life in ("growing", "new") and life.last > life.first:
            assert list(life.scales[life.first :]) == sorted(life.scales[life.first :])


def test_lookalikes_stay_in_every_period() -> None:
    lake = Feature("l0001", "lake", 0.0, 0.0, 20.0, {"r": 15.0})
    city = Feature("l0002", "city", 0.0, 0.0, 20.0, {"r": 15.0})
    water, town = draw_lifecycles(np.random.default_rng(1), [lake, city], 3)
    assert all(0.85 <= s <= 1.0 for s in water.scales) and town == Lifecycle("stable", (1.0, 1.0, 1.0))


def test_period_labels_are_years_from_2019() -> None:
    assert period_labels(3) == ["2019", "2020", "2021"]


def test_cli_writes_periods(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "minegeo.synthetic", "out=w", "size=small", "periods=2"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "w" / "scenes").glob("scene_00.20*.tif"))) == 2
