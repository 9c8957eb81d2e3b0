"""The export run from the real config: dry run offline, real run on the fake ``ee``, reruns."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from minegeo import SENTINEL2_L2A_BANDS
from minegeo.earthengine.manifest import read_manifest
from minegeo.earthengine.runner import plan_from_config, run_export
from minegeo.errors import MinegeoInputError
from tests.earthengine.fake_ee import FakeEE, step

Config = Callable[..., DictConfig]


def finish(fake_ee: FakeEE) -> Callable[[float], None]:
    return lambda _: fake_ee.states.update({str(t.id): "SUCCEEDED" for t in fake_ee.started})


def test_dry_run_never_imports_earth_engine(
    export_config: Config, centre_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ee", None)  # any `import ee` would now raise ImportError
    summary = run_export(export_config(f"points={centre_csv}", "dry_run=true", "negatives.count=2"))
    assert summary.tasks == 5 and summary.states == {}


def test_dry_run_manifest_has_one_planned_row_per_task(export_config: Config, centre_csv: Path) -> None:
    summary = run_export(export_config(f"points={centre_csv}", "dry_run=true", "negatives.count=0"))
    rows = read_manifest(summary.manifest)
    assert [r["name"] for r in rows] == ["mine_1", "mine_2", "not_mine_3"]
    assert {r["state"] for r in rows} == {"PLANNED"}
    assert summary.estimated_bytes == sum(int(r["estimated_bytes"]) for r in rows)


def test_summary_lines_give_totals(export_config: Config, centre_csv: Path) -> None:
    summary = run_export(export_config(f"points={centre_csv}", "dry_run=true", "negatives.count=0"))
    assert summary.lines()[0] == "tasks: 3 (2 patch mine, 1 patch not_mine)"
    assert re.match(r"estimated size: \d+\.\d MB \(float32, uncompressed\)$", summary.lines()[2])


def test_default_negatives_balance_the_positives(export_config: Config, centre_csv: Path) -> None:
    tasks = plan_from_config(export_config(f"points={centre_csv}"))
    assert sum(t.group == "not_mine" for t in tasks) == 1 + 2  # the CSV's own negative plus one per positive


def test_scan_tiles_from_a_bbox(export_config: Config) -> None:
    tasks = plan_from_config(export_config("aoi.bbox=[-45,-21,-44,-20]", "aoi.name=qf"))
    assert [t.name for t in tasks][:2] == ["scan_qf_r000_c000", "scan_qf_r000_c001"]
    assert {t.kind for t in tasks} == {"tile"}


def test_nothing_to_export_is_refused(export_config: Config) -> None:
    with pytest.raises(MinegeoInputError, match=r"nothing to export"):
        plan_from_config(export_config())


def test_real_run_on_fake_earth_engine(export_config: Config, centre_csv: Path, fake_ee: FakeEE) -> None:
    cfg = export_config(f"points={centre_csv}", "negatives.count=0", "auth.project=proj")
    summary = run_export(cfg, ee=fake_ee, sleep=finish(fake_ee))
    assert summary.states == {"COMPLETED": 3}
    assert fake_ee.called("ee.Initialize")[0].kwargs == {"project": "proj"}
    assert [t.call.kwargs["folder"] for t in fake_ee.started] == [
        "minegeo_mine",
        "minegeo_mine",
        "minegeo_not_mine",
    ]


def test_surface_reflectance_exports_its_own_bands_by_default(
    export_config: Config, centre_csv: Path, fake_ee: FakeEE
) -> None:
    cfg = export_config(
        f"points={centre_csv}",
        "negatives.count=0",
        "auth.project=p",
        "collection.id=COPERNICUS/S2_SR_HARMONIZED",
    )
    summary = run_export(cfg, ee=fake_ee, sleep=finish(fake_ee))
    assert summary.states == {"COMPLETED": 3} and not fake_ee.failures
    image = fake_ee.started[0].call.kwargs["image"]
    assert step(image, "select").args == (list(SENTINEL2_L2A_BANDS),)
    assert {r["bands"] for r in read_manifest(summary.manifest)} == {";".join(SENTINEL2_L2A_BANDS)}


def test_surface_reflectance_with_b10_is_refused_before_any_task(
    export_config: Config, centre_csv: Path, fake_ee: FakeEE
) -> None:
    bands = "collection.bands=[B2,B3,B4,B10]"
    cfg = export_config(f"points={centre_csv}", "collection.id=COPERNICUS/S2_SR_HARMONIZED", bands)
    with pytest.raises(
        MinegeoInputError, match=r"^collection.bands has B10, which COPERNICUS/S2_SR_HARMONIZED"
    ):
        run_export(cfg, ee=fake_ee, sleep=finish(fake_ee))
    assert fake_ee.started == []


def test_uint16_plans_half_the_bytes_and_says_so(
    export_config: Config, centre_csv: Path, tmp_path: Path
) -> None:
    float32 = run_export(export_config(f"points={centre_csv}", "dry_run=true", f"out={tmp_path / 'a'}"))
    uint16 = run_export(
        export_config(f"points={centre_csv}", "dry_run=true", "dtype=uint16", f"out={tmp_path / 'b'}")
    )
    assert uint16.estimated_bytes * 2 == float32.estimated_bytes
    assert uint16.lines()[2].endswith("(uint16, uncompressed)")
    assert {r["value_scale"] for r in read_manifest(uint16.manifest)} == {"0.0001"}


def test_rerun_submits_nothing_new(export_config: Config, centre_csv: Path, fake_ee: FakeEE) -> None:
    cfg = export_config(f"points={centre_csv}", "negatives.count=0", "auth.project=proj")
    run_export(cfg, ee=fake_ee, sleep=finish(fake_ee))
    again = FakeEE()
    summary = run_export(cfg, ee=again, sleep=finish(again))
    assert again.started == [] and summary.states == {"COMPLETED": 3}


def test_dry_run_after_a_run_keeps_task_states(
    export_config: Config, centre_csv: Path, fake_ee: FakeEE
) -> None:
    run_export(
        export_config(f"points={centre_csv}", "negatives.count=0", "auth.project=p"),
        ee=fake_ee,
        sleep=finish(fake_ee),
    )
    summary = run_export(export_config(f"points={centre_csv}", "negatives.count=0", "dry_run=true"))
    assert {r["state"] for r in read_manifest(summary.manifest)} == {"COMPLETED"}


def test_saved_config_redacts_the_key_path(export_config: Config, centre_csv: Path, tmp_path: Path) -> None:
    key = tmp_path / "secret-key.json"
    cfg = export_config(f"points={centre_csv}", "dry_run=true", f"auth.service_account_key={key}")
    summary = run_export(cfg)
    saved = (summary.out / "export_config.yaml").read_text()
    assert "secret-key" not in saved and "service_account_key: '***'" in saved


def test_periods_put_the_period_in_every_name_and_manifest_row(
    export_config: Config, centre_csv: Path
) -> None:
    cfg = export_config(f"points={centre_csv}", "dry_run=true", "negatives.count=0", "periods=[2020,2019]")
    summary = run_export(cfg)
    rows = read_manifest(summary.manifest)
    assert [r["name"] for r in rows] == [
        f"{n}.{y}" for y in (2019, 2020) for n in ("mine_1", "mine_2", "not_mine_3")
    ]
    assert all(
        r["period"] in r["name"] and r["name"] in r["file_prefix"] and r["period"] in r["uri"] for r in rows
    )
    assert {(r["period"], r["start"], r["end"]) for r in rows} == {
        ("2019", "2019-01-01", "2020-01-01"),
        ("2020", "2020-01-01", "2021-01-01"),
    }
    assert summary.lines()[1] == "periods: 2 (2019, 2020), one task each per site or tile"


def test_without_periods_names_carry_none(export_config: Config, centre_csv: Path) -> None:
    rows = read_manifest(run_export(export_config(f"points={centre_csv}", "dry_run=true")).manifest)
    assert {r["period"] for r in rows} == {""} and all("." not in r["name"] for r in rows)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2019", r"periods=2019: expected a list"),
        ("[2019,2019]", r"2019 given twice"),
        ("[2019,20x1]", r"period '20x1' is not valid"),
    ],
)
def test_bad_periods_are_one_line(export_config: Config, centre_csv: Path, value: str, message: str) -> None:
    with pytest.raises(MinegeoInputError, match=message):
        plan_from_config(export_config(f"points={centre_csv}", f"periods={value}"))


def test_real_run_exports_each_period_from_its_dates(
    export_config: Config, centre_csv: Path, fake_ee: FakeEE
) -> None:
    cfg = export_config(f"points={centre_csv}", "negatives.count=0", "auth.project=p", "periods=[2019,2024]")
    summary = run_export(cfg, ee=fake_ee, sleep=finish(fake_ee))
    assert summary.states == {"COMPLETED": 6}
    dates = {
        t.call.kwargs["description"]: step(t.call.kwargs["image"], "filterDate").args for t in fake_ee.started
    }
    assert dates["mine_1.2019"] == ("2019-01-01", "2020-01-01")
    assert dates["mine_1.2024"] == ("2024-01-01", "2025-01-01")


def test_anm_dams_over_three_years_give_one_task_per_dam_and_year(
    export_config: Config, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    anm = shared_data / "anm" / "dam_2019_table.tsv"
    cfg = export_config(f"points={anm}", "dry_run=true", "negatives.count=0", "periods=[2019,2020,2021]")
    rows = read_manifest(run_export(cfg).manifest)
    # 769 dams; dam 439's latitude lacks its degrees in ANM's table, so it is reported and left out.
    assert "dam_2019_table.tsv:440: latitude" in caplog.text
    assert len(rows) == 768 * 3
    for year in ("2019", "2020", "2021"):
        names = [r["name"] for r in rows if r["period"] == year]
        assert len(set(names)) == 768 and all(name.endswith(f".{year}") for name in names)
        assert "mine_439." + year not in names and "mine_438." + year in names
    assert all(r["period"] in r["file_prefix"] and r["period"] in r["uri"] for r in rows)
