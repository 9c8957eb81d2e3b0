"""manifest.csv: columns, atomic writes, and idempotent merging of reruns."""

from __future__ import annotations

from pathlib import Path

import pytest

from minegeo.earthengine.manifest import (
    MANIFEST_COLUMNS,
    merge_manifest,
    needs_submission,
    read_manifest,
    stamp,
    write_manifest,
)
from minegeo.earthengine.plan import Destination, plan_tasks
from minegeo.earthengine.regions import PatchRegion
from minegeo.errors import MinegeoInputError

TASKS = plan_tasks(
    [PatchRegion(f"mine_{i}", "mine", (-44.0, -20.0, -43.99, -19.99)) for i in range(4)],
    Destination(),
    "EPSG:4326",
    10,
    ("B2", "B3"),
)


@pytest.mark.parametrize(
    ("dtype", "encoding"),
    [("float32", ("float32", "1", "0", "")), ("uint16", ("uint16", "0.0001", "0", "0"))],
)
def test_row_records_how_values_become_reflectance(dtype: str, encoding: tuple[str, ...]) -> None:
    (task,) = plan_tasks(
        [PatchRegion("mine_0", "mine", (-44.0, -20.0, -43.99, -19.99))],
        Destination(),
        "EPSG:4326",
        10,
        ("B2",),
        dtype=dtype,  # type: ignore[arg-type]
    )
    row = merge_manifest([], [task])[0]
    assert (row["dtype"], row["value_scale"], row["value_offset"], row["nodata"]) == encoding


def test_round_trip_keeps_every_column(tmp_path: Path) -> None:
    rows = merge_manifest([], TASKS)
    write_manifest(tmp_path / "manifest.csv", rows)
    assert read_manifest(tmp_path / "manifest.csv") == rows
    assert tuple(rows[0]) == MANIFEST_COLUMNS


def test_planned_row_describes_the_task(tmp_path: Path) -> None:
    row = merge_manifest([], TASKS)[0]
    assert row["bands"] == "B2;B3" and row["crs"] == "EPSG:4326" and row["scale"] == "10"
    assert row["geometry"].startswith("POLYGON") and row["state"] == "PLANNED"
    assert int(row["estimated_bytes"]) == int(row["pixels"]) * 2 * 4


def test_missing_manifest_is_empty(tmp_path: Path) -> None:
    assert read_manifest(tmp_path / "manifest.csv") == []


def test_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_manifest(tmp_path / "manifest.csv", merge_manifest([], TASKS))
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.csv"]


def test_merge_keeps_recorded_ids_and_states() -> None:
    rows = merge_manifest([], TASKS)
    stamp(rows[0], "COMPLETED", task_id="A")
    stamp(rows[1], "RUNNING", task_id="B")
    stamp(rows[2], "FAILED", task_id="C", error="bad   band\nname")
    again = merge_manifest(rows, TASKS)
    assert [(r["task_id"], r["state"]) for r in again] == [
        ("A", "COMPLETED"),
        ("B", "RUNNING"),
        ("C", "FAILED"),
        ("", "PLANNED"),
    ]
    assert again[2]["error"] == "bad band name"


def test_rerun_submits_only_tasks_not_done_or_running() -> None:
    rows = merge_manifest([], TASKS)
    for row, state in zip(rows, ["COMPLETED", "RUNNING", "FAILED", "READY"], strict=True):
        stamp(row, state, task_id=row["name"])
    assert [needs_submission(r) for r in merge_manifest(rows, TASKS)] == [False, False, True, False]


def test_merge_keeps_rows_of_earlier_plans() -> None:
    rows = merge_manifest([], TASKS)
    stamp(rows[3], "COMPLETED", task_id="D")
    merged = merge_manifest(rows, TASKS[:2])
    assert [r["name"] for r in merged] == ["mine_0", "mine_1", "mine_2", "mine_3"]


def test_a_csv_that_is_not_a_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text("a,b\n1,2\n")
    with pytest.raises(MinegeoInputError, match=r"manifest.csv: header \['a', 'b'\] is not a manifest's"):
        read_manifest(tmp_path / "manifest.csv")
