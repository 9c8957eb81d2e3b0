"""Earth Engine export tasks: build, submit in batches, poll, retry transient failures.

Earth Engine queues at most 3000 tasks per project ("Too many tasks already in the
queue (3000)") and runs only a few at once (2 on average by default, per its quota
page), so submitting thousands at once only fills the queue. Tasks are kept at most
``max_active`` in flight (queued or running); more are submitted as earlier ones finish.
Every state change is written to the manifest, so an interrupted run can simply be rerun.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from minegeo.earthengine.collection import ENCODINGS, CompositeSpec, composite
from minegeo.earthengine.manifest import ACTIVE_STATES, Row, needs_submission, stamp, write_manifest
from minegeo.earthengine.plan import Destination, ExportTask
from minegeo.errors import MinegeoInputError

__all__ = [
    "RetryPolicy",
    "TaskPolicy",
    "build_export",
    "call_with_retry",
    "is_transient",
    "poll_states",
    "submit_all",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Largest image an export may hold (Earth Engine's default of 1e8 pixels is below one
#: 92 km scan tile at 10 m).
MAX_PIXELS = 10**11
#: Error texts of failures that pass: rate and queue limits, server errors, timeouts.
_TRANSIENT = re.compile(
    r"too many (concurrent|tasks|requests)|rate limit|\b(429|500|502|503|504)\b|timed? ?out|deadline|"
    r"temporarily|service unavailable|internal error|connection (reset|aborted)",
    re.IGNORECASE,
)
#: Operation states (Cloud API) -> task states (as in the manifest and the EE console).
_OPERATION_STATES = {
    "PENDING": "READY",
    "RUNNING": "RUNNING",
    "CANCELLING": "CANCEL_REQUESTED",
    "SUCCEEDED": "COMPLETED",
    "CANCELLED": "CANCELLED",
    "FAILED": "FAILED",
}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient Earth Engine errors."""

    attempts: int = 6
    base_seconds: float = 2.0
    max_seconds: float = 120.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        return float(min(self.max_seconds, self.base_seconds * 2**attempt))


@dataclass(frozen=True)
class TaskPolicy:
    """How tasks are submitted and watched."""

    #: Tasks of this run kept queued or running at once (EE's queue holds 3000 per project).
    max_active: int = 250
    #: Seconds between status polls.
    poll_seconds: float = 30.0
    #: Wait until every task has finished (else return once all are submitted).
    wait: bool = True
    retry: RetryPolicy = RetryPolicy()


def build_export(ee: Any, task: ExportTask, spec: CompositeSpec, destination: Destination) -> Any:
    """The (unstarted) Earth Engine task exporting ``task``'s region of the composite.

    A task of a period takes its composite from that period's dates instead of ``spec``'s.

    Args:
        ee: the Earth Engine module (or a fake).
        task: the planned task.
        spec: the composite spec.
        destination: Drive or Cloud Storage.

    Returns:
        an ``ee.batch.Task``.
    """
    region = ee.Geometry.Rectangle(list(task.bounds), "EPSG:4326", False)
    if task.period is not None:
        spec = replace(spec, start=task.period.start_text, end=task.period.end_text)
    arguments = {
        "image": composite(ee, spec, region),
        "description": task.name,
        "fileNamePrefix": task.file_prefix,
        "region": region,
        # The snapped grid, not a scale: Earth Engine would place a scale's grid itself,
        # and the periods of one place must share theirs.
        "crsTransform": list(task.crs_transform),
        "crs": task.crs,
        "maxPixels": MAX_PIXELS,
        "fileFormat": "GeoTIFF",
    }
    nodata = ENCODINGS[spec.dtype].nodata
    if nodata is not None:
        arguments["formatOptions"] = {"noData": nodata}
    if destination.kind == "drive":
        return ee.batch.Export.image.toDrive(folder=task.container, **arguments)
    return ee.batch.Export.image.toCloudStorage(bucket=task.container, **arguments)


def is_transient(error: BaseException) -> bool:
    """Whether an error is worth retrying (limits, 429, 5xx, timeouts) or permanent."""
    return isinstance(error, TimeoutError | ConnectionError) or bool(_TRANSIENT.search(str(error)))


def call_with_retry(call: Callable[[], T], retry: RetryPolicy, sleep: Callable[[float], None]) -> T:
    """Call ``call``, retrying transient errors with exponential backoff.

    Args:
        call: the Earth Engine call.
        retry: attempts and delays.
        sleep: the sleeping function (``time.sleep``; tests pass a recorder).

    Returns:
        what ``call`` returns.

    Raises:
        Exception: a permanent error at once, a transient one after the last attempt.
    """
    for attempt in range(retry.attempts):
        try:
            return call()
        except Exception as error:
            if not is_transient(error) or attempt == retry.attempts - 1:
                raise
            delay = retry.delay(attempt)
            log.warning("transient Earth Engine error (%s); retry %d in %.0f s", error, attempt + 1, delay)
            sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def poll_states(ee: Any, retry: RetryPolicy, sleep: Callable[[float], None]) -> dict[str, tuple[str, str]]:
    """Task id -> (state, error message) of every recent task of the project (one listing).

    Args:
        ee: the initialised Earth Engine module.
        retry: backoff for transient failures of the listing.
        sleep: the sleeping function.

    Returns:
        the states, with Earth Engine's task-state names (READY, RUNNING, COMPLETED...).
    """
    states = {}
    for operation in call_with_retry(ee.data.listOperations, retry, sleep):
        task_id = str(operation["name"]).rsplit("/", 1)[-1]
        state = _OPERATION_STATES.get(operation.get("metadata", {}).get("state", ""), "UNKNOWN")
        states[task_id] = (state, str(operation.get("error", {}).get("message", "")))
    return states


def submit_all(
    ee: Any,
    tasks: list[ExportTask],
    rows: list[Row],
    manifest: Path,
    build: Callable[[ExportTask], Any],
    policy: TaskPolicy,
    sleep: Callable[[float], None],
) -> dict[str, int]:
    """Submit every task that needs it, at most ``max_active`` in flight, and watch them.

    Args:
        ee: the initialised Earth Engine module.
        tasks: the planned tasks.
        rows: the manifest rows (updated in place and rewritten after each change).
        manifest: the manifest path.
        build: makes the unstarted Earth Engine task of a planned task.
        policy: limits, polling and retries.
        sleep: the sleeping function.

    Returns:
        the number of this plan's tasks in each state at the end.

    Raises:
        MinegeoInputError: if Earth Engine refuses a task for a permanent reason (bad
            bucket, no permission...); the manifest records it first.
    """
    by_name = {row["name"]: row for row in rows}
    mine = [by_name[task.name] for task in tasks]
    pending = [task for task in tasks if needs_submission(by_name[task.name])]
    with tqdm(total=len(tasks), desc="exports", unit="task") as bar:
        while True:
            _refresh(ee, mine, policy.retry, sleep)
            free = policy.max_active - sum(row["state"] in ACTIVE_STATES for row in mine)
            for task in pending[: max(free, 0)]:
                _start(task, by_name[task.name], build, policy.retry, sleep, rows, manifest)
            pending = pending[max(free, 0) :]
            write_manifest(manifest, rows)
            bar.n = sum(row["state"] in ("COMPLETED", "FAILED", "CANCELLED") for row in mine)
            bar.set_postfix(active=sum(row["state"] in ACTIVE_STATES for row in mine), waiting=len(pending))
            if not pending and not (policy.wait and any(row["state"] in ACTIVE_STATES for row in mine)):
                break
            sleep(policy.poll_seconds)
    return _count_states(mine)


def _refresh(ee: Any, rows: list[Row], retry: RetryPolicy, sleep: Callable[[float], None]) -> None:
    """Update rows of queued or running tasks from one listing of the project's tasks."""
    if not any(row["state"] in ACTIVE_STATES for row in rows):
        return
    states = poll_states(ee, retry, sleep)
    for row in rows:
        if row["state"] in ACTIVE_STATES and row["task_id"] in states:
            state, error = states[row["task_id"]]
            if state != row["state"] and state != "UNKNOWN":
                stamp(row, state, error=error)


def _start(
    task: ExportTask,
    row: Row,
    build: Callable[[ExportTask], Any],
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    rows: list[Row],
    manifest: Path,
) -> None:
    try:
        ee_task = build(task)
        call_with_retry(ee_task.start, retry, sleep)
    except Exception as error:
        stamp(row, "FAILED", error=str(error))
        write_manifest(manifest, rows)
        raise MinegeoInputError(
            f"Earth Engine refused task {task.name} ({' '.join(str(error).split())[:200]}); expected a "
            f"valid destination and permission to export; see {manifest}"
        ) from error
    stamp(row, "READY", task_id=str(ee_task.id))


def _count_states(rows: list[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts
