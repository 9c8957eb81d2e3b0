"""``manifest.csv``: one row per export task, with its Earth Engine task id and state.

The manifest is what makes exports resumable: a rerun merges the new plan with the rows
already there, keeps their task ids and states, and submits only tasks that are neither
done nor still queued or running. It is rewritten atomically after every change, so a
crash never leaves a half-written manifest.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from minegeo.earthengine.plan import ExportTask
from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path

__all__ = [
    "ACTIVE_STATES",
    "MANIFEST_COLUMNS",
    "SKIP_STATES",
    "merge_manifest",
    "needs_submission",
    "read_manifest",
    "stamp",
    "task_row",
    "write_manifest",
]

#: Manifest columns, in file order.
MANIFEST_COLUMNS = (
    "name",
    "kind",
    "group",
    "period",
    "start",
    "end",
    "geometry",
    "crs",
    "scale",
    "bands",
    "dtype",
    "value_scale",
    "value_offset",
    "nodata",
    "width",
    "height",
    "pixels",
    "estimated_bytes",
    "destination",
    "file_prefix",
    "uri",
    "task_id",
    "state",
    "error",
    "updated",
)
#: Earth Engine states of a task still queued or running.
ACTIVE_STATES = frozenset({"READY", "RUNNING", "CANCEL_REQUESTED"})
#: States a rerun leaves alone (FAILED and CANCELLED tasks are submitted again).
SKIP_STATES = ACTIVE_STATES | {"COMPLETED"}
#: State of a planned task not yet submitted.
PLANNED = "PLANNED"

Row = dict[str, str]


def task_row(task: ExportTask) -> Row:
    """The manifest row of a planned (not yet submitted) task."""
    return {
        "name": task.name,
        "kind": task.kind,
        "group": task.group,
        "period": task.period.label if task.period else "",
        "start": task.period.start_text if task.period else "",
        "end": task.period.end_text if task.period else "",
        "geometry": task.wkt,
        "crs": task.crs,
        "scale": f"{task.scale:g}",
        "bands": ";".join(task.bands),
        # what a reader needs to turn the file's values into reflectance
        "dtype": task.dtype,
        "value_scale": f"{task.encoding.value_scale:g}",
        "value_offset": f"{task.encoding.value_offset:g}",
        "nodata": "" if task.encoding.nodata is None else f"{task.encoding.nodata:g}",
        "width": str(task.width),
        "height": str(task.height),
        "pixels": str(task.pixels),
        "estimated_bytes": str(task.estimated_bytes),
        "destination": task.container,
        "file_prefix": task.file_prefix,
        "uri": task.uri,
        "task_id": "",
        "state": PLANNED,
        "error": "",
        "updated": "",
    }


def read_manifest(path: str | Path) -> list[Row]:
    """Read a manifest; a missing file is an empty manifest.

    Args:
        path: ``manifest.csv``.

    Returns:
        its rows, as dicts of strings.

    Raises:
        MinegeoInputError: if the file lacks the manifest's ``name`` or ``state`` columns.
    """
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"name", "state"} <= set(reader.fieldnames or []):
            raise MinegeoInputError(
                f"{path}: header {reader.fieldnames} is not a manifest's; expected {list(MANIFEST_COLUMNS)}"
            )
        return [{column: row.get(column) or "" for column in MANIFEST_COLUMNS} for row in reader]


def write_manifest(path: str | Path, rows: Iterable[Row]) -> None:
    """Write the manifest atomically (temporary file renamed over the old one).

    Args:
        path: ``manifest.csv``.
        rows: the rows to write.
    """
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def merge_manifest(existing: list[Row], planned: list[ExportTask]) -> list[Row]:
    """Rows for the planned tasks, carrying over task ids and states already recorded.

    Rows of earlier plans that are not in this one are kept at the end, so a submitted
    task is never forgotten.

    Args:
        existing: rows read from the manifest.
        planned: the tasks of this run.

    Returns:
        the merged rows: planned tasks first, in plan order.
    """
    previous = {row["name"]: row for row in existing}
    merged = []
    for task in planned:
        row = task_row(task)
        old = previous.pop(task.name, None)
        if old and old["task_id"]:
            row.update({key: old[key] for key in ("task_id", "state", "error", "updated")})
        merged.append(row)
    return merged + list(previous.values())


def needs_submission(row: Row) -> bool:
    """Whether a rerun should submit this row's task (not done, queued or running)."""
    return row["state"] not in SKIP_STATES


def stamp(row: Row, state: str, task_id: str | None = None, error: str = "") -> None:
    """Record a task's new state (and id) in its row, with the time of the change."""
    if task_id is not None:
        row["task_id"] = task_id
    row["state"] = state
    row["error"] = " ".join(error.split())[:300]
    row["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
