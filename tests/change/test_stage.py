"""The change stage on a run folder: its files, the summary section, reruns, when it runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from minegeo.change.series import time_series, wants_change
from minegeo.change.stage import run_change_stage
from minegeo.errors import MinegeoInputError
from tests.change.conftest import PERIODS

Run = tuple[Path, list[tuple[str, Path, Path]]]
CHANGE_FILES = ("changes.csv", "changes.gpkg", "changes.kml", "mg.change.tif")


def digest(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in CHANGE_FILES}


def test_changes_csv_has_one_row_per_site_with_the_contract_columns(series_run: Run) -> None:
    folder, maps = series_run
    run_change_stage(maps, folder)
    table = pd.read_csv(folder / "changes.csv")
    assert list(table.columns) == [
        "site_id", "status", "first_period", "last_period", "lon", "lat", "registered",
        *(f"area_m2_{p}" for p in PERIODS), "confirmed", "place",
    ]  # fmt: skip
    assert sorted(table["status"]) == ["gone", "growing", "new", "new", "shrinking", "stable"]
    new = table[table["status"] == "new"].set_index("first_period")
    assert list(new.index) == [2021, 2022] and not new.loc[2022, "confirmed"]


def test_gpkg_has_the_sites_and_one_layer_per_period(series_run: Run) -> None:
    folder, maps = series_run
    run_change_stage(maps, folder)
    layers = [name for name, _ in pyogrio.list_layers(folder / "changes.gpkg")]
    assert layers == ["sites", *(f"period_{p}" for p in PERIODS)]
    assert (
        len(gpd.read_file(folder / "changes.gpkg", layer="period_2020")) == 4
    )  # the false alarm is not counted


def test_kml_places_every_counted_detection_in_its_periods_timespan(series_run: Run) -> None:
    folder, maps = series_run
    run_change_stage(maps, folder)
    kml = (folder / "changes.kml").read_text()
    assert kml.count("<TimeSpan>") == 17
    assert "<begin>2021-01-01</begin>" in kml and "<end>2022-01-01</end>" in kml


def test_summary_gains_the_new_and_fastest_growing_sites(series_run: Run) -> None:
    folder, maps = series_run
    change = run_change_stage(maps, folder)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["change"] == change and set(CHANGE_FILES) <= set(summary["files"])
    assert change is not None and change["per_status"]["new"] == 2 and len(change["new_unregistered"]) == 2
    assert change["fastest_growing"][0]["site_id"] == "mg-0002"  # the growing disc gains the most
    markdown = (folder / "summary.md").read_text()
    assert markdown.startswith("# Detections summary") and "### New since 2019: 2" in markdown
    assert "| mg-0002 |" in markdown.split("### Fastest-growing sites")[1]


def test_a_rerun_writes_the_same_bytes(series_run: Run) -> None:
    folder, maps = series_run
    run_change_stage(maps, folder)
    first = digest(folder)
    (folder / ".changes.partial-99.csv").write_text("half")  # left by a killed stage
    run_change_stage(maps, folder)
    assert digest(folder) == first and not list(folder.glob(".*partial*"))


def test_auto_runs_only_when_a_place_has_several_periods() -> None:
    one_each = time_series([("a.2019", Path("a"), Path("a")), ("b.2020", Path("b"), Path("b"))])
    assert not wants_change("auto", one_each) and wants_change(True, one_each)
    assert not wants_change(
        False, time_series([("a.2019", Path("a"), Path("a")), ("a.2020", Path("a"), Path("a"))])
    )


def test_change_true_without_periods_is_one_line() -> None:
    with pytest.raises(MinegeoInputError, match=r"change=true, but no scene is named <place>.<period>"):
        wants_change(True, [])


def test_the_stage_skips_when_off(series_run: Run) -> None:
    folder, maps = series_run
    assert run_change_stage(maps, folder, mode=False) is None and not (folder / "changes.csv").exists()
