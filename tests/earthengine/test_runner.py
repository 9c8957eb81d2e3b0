"""The export run from the real config: dry run offline, real run on the fake ``ee``, reruns."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from minegeo.earthengine.manifest import read_manifest
from minegeo.earthengine.runner import plan_from_config, run_export
from minegeo.errors import MinegeoInputError
from tests.earthengine.fake_ee import FakeEE

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
