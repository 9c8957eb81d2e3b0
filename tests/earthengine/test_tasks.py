"""Export tasks on a recording fake of ``ee``: arguments, batching, polling, retries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minegeo import SENTINEL2_BANDS
from minegeo.earthengine.collection import CompositeSpec
from minegeo.earthengine.manifest import merge_manifest, read_manifest, stamp
from minegeo.earthengine.plan import Destination, ExportTask, plan_tasks
from minegeo.earthengine.regions import PatchRegion
from minegeo.earthengine.tasks import (
    MAX_PIXELS,
    RetryPolicy,
    TaskPolicy,
    build_export,
    call_with_retry,
    is_transient,
    poll_states,
    submit_all,
)
from minegeo.errors import MinegeoInputError
from minegeo.periods import parse_periods
from tests.earthengine.fake_ee import FakeEE, FakeTask, calls_named, chain, step

BOUNDS = (-44.0, -20.1, -43.98, -20.08)
NO_RETRY_WAIT = RetryPolicy(attempts=3, base_seconds=1, max_seconds=4)


def plan(destination: Destination, count: int = 1, crs: str = "EPSG:4326") -> list[ExportTask]:
    regions = [PatchRegion(f"mine_{i}", "mine", BOUNDS) for i in range(count)]
    return plan_tasks(regions, destination, crs, 10, SENTINEL2_BANDS)


def test_drive_export_arguments(fake_ee: FakeEE) -> None:
    (task,) = plan(Destination("drive", folder="minegeo"))
    ee_task = build_export(fake_ee, task, CompositeSpec(), Destination("drive", folder="minegeo"))
    assert isinstance(ee_task, FakeTask) and ee_task.call.path == "ee.batch.Export.image.toDrive()"
    kwargs = ee_task.call.kwargs
    assert (kwargs["folder"], kwargs["fileNamePrefix"], kwargs["description"]) == (
        "minegeo_mine",
        "mine_0",
        "mine_0",
    )
    assert (kwargs["crsTransform"], kwargs["crs"], kwargs["fileFormat"]) == (
        list(task.crs_transform),
        "EPSG:4326",
        "GeoTIFF",
    )
    assert "scale" not in kwargs  # Earth Engine would choose the grid of a scale itself
    assert kwargs["maxPixels"] == MAX_PIXELS
    assert "bucket" not in kwargs


def test_export_region_is_the_task_rectangle_in_degrees(fake_ee: FakeEE) -> None:
    (task,) = plan(Destination())
    kwargs = build_export(fake_ee, task, CompositeSpec(), Destination()).call.kwargs
    region = kwargs["region"]
    assert region.path == "ee.Geometry.Rectangle()" and region.args == (list(BOUNDS), "EPSG:4326", False)
    assert step(kwargs["image"], "filterBounds").args == (region,)


def test_export_image_is_the_float_composite(fake_ee: FakeEE) -> None:
    (task,) = plan(Destination())
    image = build_export(fake_ee, task, CompositeSpec(), Destination()).call.kwargs["image"]
    assert chain(image)[0] == "ImageCollection" and chain(image)[-3:] == ["median", "divide", "toFloat"]


def test_uint16_export_declares_zero_as_nodata(fake_ee: FakeEE) -> None:
    (task,) = plan(Destination())
    uint16 = build_export(fake_ee, task, CompositeSpec(dtype="uint16"), Destination()).call.kwargs
    assert uint16["formatOptions"] == {"noData": 0}
    assert chain(uint16["image"])[-1] == "toUint16"
    assert "formatOptions" not in build_export(fake_ee, task, CompositeSpec(), Destination()).call.kwargs


def test_a_band_the_collection_lacks_fails_the_task_with_earth_engines_message(
    fake_ee: FakeEE, tmp_path: Path
) -> None:
    tasks = plan(Destination(), count=2)

    def lacking_b10(task: ExportTask) -> Any:  # what an export of L2A with B10 would submit
        image = fake_ee.ImageCollection("COPERNICUS/S2_SR_HARMONIZED").select(["B4", "B10"]).median()
        return fake_ee.batch.Export.image.toDrive(image=image, description=task.name)

    rows = merge_manifest([], tasks)
    counts = submit_all(fake_ee, tasks, rows, tmp_path / "m.csv", lacking_b10, TaskPolicy(), lambda _: None)
    assert counts == {"FAILED": 2}
    errors = {row["error"] for row in read_manifest(tmp_path / "m.csv")}
    assert errors == {"Image.select: Pattern 'B10' did not match any bands."}


def test_cloud_storage_export_arguments(fake_ee: FakeEE) -> None:
    destination = Destination("gcs", bucket="my-bucket", prefix="s2")
    (task,) = plan(destination, crs="utm")
    call = build_export(fake_ee, task, CompositeSpec(), destination).call
    assert call.path == "ee.batch.Export.image.toCloudStorage()"
    assert (call.kwargs["bucket"], call.kwargs["fileNamePrefix"]) == ("my-bucket", "s2/mine/mine_0")
    assert call.kwargs["crs"] == "EPSG:32723" and "folder" not in call.kwargs


def test_a_period_task_takes_its_composite_from_the_period(fake_ee: FakeEE) -> None:
    regions = [PatchRegion("mine_0", "mine", BOUNDS)]
    periods = parse_periods(["2021Q4", "2023"])
    spec = CompositeSpec(cloud_mask="qa60", start="2019-01-01", end="2020-01-01")
    images = [
        build_export(fake_ee, task, spec, Destination()).call.kwargs["image"]
        for task in plan_tasks(regions, Destination(), "utm", 10, SENTINEL2_BANDS, periods)
    ]
    assert [step(image, "filterDate").args for image in images] == [
        ("2021-10-01", "2022-01-01"),
        ("2023-01-01", "2024-01-01"),
    ]
    selected = [
        sorted(
            call.args[0]
            for call in calls_named(step(image, "map"), "select")
            if call.args[0] != list(SENTINEL2_BANDS)
        )
        for image in images
    ]
    assert selected == [["QA60"], ["MSK_CLASSI_CIRRUS", "MSK_CLASSI_OPAQUE", "QA60"]]


@pytest.mark.parametrize(
    "message",
    [
        "Too many concurrent aggregations.",
        "Too many tasks already in the queue (3000). Please wait for some of them to complete.",
        "<HttpError 429 when requesting ...>",
        "<HttpError 503 when requesting ...>",
        "Request timed out.",
        "Deadline exceeded",
    ],
)
def test_transient_errors(message: str) -> None:
    assert is_transient(Exception(message))


@pytest.mark.parametrize(
    "message",
    [
        "Image.select: Pattern 'B13' did not match any bands.",
        "Permission denied on bucket my-bucket.",
        "ImageCollection.load: ImageCollection asset 'X' not found.",
        "Exported image is too big (5000000 pixels).",
    ],
)
def test_permanent_errors(message: str) -> None:
    assert not is_transient(Exception(message))


def test_timeouts_and_connection_errors_are_transient() -> None:
    assert is_transient(TimeoutError()) and is_transient(ConnectionResetError())


def test_retry_backs_off_exponentially_then_succeeds() -> None:
    errors = [Exception("Too many concurrent aggregations."), Exception("HTTP 500")]
    sleeps: list[float] = []

    def call() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    assert (
        call_with_retry(call, RetryPolicy(attempts=5, base_seconds=2, max_seconds=120), sleeps.append) == "ok"
    )
    assert sleeps == [2.0, 4.0]


def test_retry_delay_is_capped() -> None:
    assert [RetryPolicy(base_seconds=2, max_seconds=10).delay(i) for i in range(5)] == [2, 4, 8, 10, 10]


def test_retry_gives_up_after_the_last_attempt() -> None:
    sleeps: list[float] = []

    def call() -> None:
        raise Exception("HTTP 503")

    with pytest.raises(Exception, match="503"):
        call_with_retry(call, NO_RETRY_WAIT, sleeps.append)
    assert len(sleeps) == 2


def test_permanent_error_is_not_retried() -> None:
    sleeps: list[float] = []

    def call() -> None:
        raise Exception("Permission denied")

    with pytest.raises(Exception, match="Permission denied"):
        call_with_retry(call, NO_RETRY_WAIT, sleeps.append)
    assert sleeps == []


def test_poll_maps_operation_states_to_task_states(fake_ee: FakeEE) -> None:
    for _ in range(3):
        FakeTask(fake_ee, fake_ee.x()).start()
    fake_ee.states = {"TASK0001": "PENDING", "TASK0002": "SUCCEEDED", "TASK0003": "FAILED"}
    states = poll_states(fake_ee, NO_RETRY_WAIT, lambda s: None)
    assert {k: v[0] for k, v in states.items()} == {
        "TASK0001": "READY",
        "TASK0002": "COMPLETED",
        "TASK0003": "FAILED",
    }


def run(
    fake_ee: FakeEE,
    tasks: list[ExportTask],
    rows: list[dict[str, str]],
    manifest: Path,
    policy: TaskPolicy,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, int]:
    def finish_all(_: float) -> None:
        fake_ee.states.update({str(task.id): "SUCCEEDED" for task in fake_ee.started})

    def build(task: ExportTask) -> Any:
        return build_export(fake_ee, task, CompositeSpec(), Destination())

    return submit_all(fake_ee, tasks, rows, manifest, build, policy, sleep or finish_all)


def test_submission_keeps_at_most_max_active_in_flight(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=5)
    started_at_each_poll: list[int] = []

    def sleep(_: float) -> None:
        started_at_each_poll.append(len(fake_ee.started))
        fake_ee.states.update({str(task.id): "SUCCEEDED" for task in fake_ee.started})

    counts = run(
        fake_ee, tasks, merge_manifest([], tasks), tmp_path / "m.csv", TaskPolicy(max_active=2), sleep
    )
    assert started_at_each_poll == [2, 4, 5]
    assert counts == {"COMPLETED": 5}


def test_manifest_records_ids_and_final_states(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=2)
    run(fake_ee, tasks, merge_manifest([], tasks), tmp_path / "m.csv", TaskPolicy())
    rows = read_manifest(tmp_path / "m.csv")
    assert [(r["task_id"], r["state"]) for r in rows] == [
        ("TASK0001", "COMPLETED"),
        ("TASK0002", "COMPLETED"),
    ]


def test_rerun_skips_done_and_running_tasks(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=4)
    rows = merge_manifest([], tasks)
    stamp(rows[0], "COMPLETED", task_id="OLD1")
    stamp(rows[1], "RUNNING", task_id="OLD2")
    stamp(rows[2], "FAILED", task_id="OLD3")
    run(fake_ee, tasks, rows, tmp_path / "m.csv", TaskPolicy(wait=False))
    assert [task.call.kwargs["description"] for task in fake_ee.started] == ["mine_2", "mine_3"]


def test_without_wait_returns_once_everything_is_submitted(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=3)
    sleeps: list[float] = []
    counts = run(
        fake_ee, tasks, merge_manifest([], tasks), tmp_path / "m.csv", TaskPolicy(wait=False), sleeps.append
    )
    assert sleeps == [] and counts == {"READY": 3}


def test_transient_start_error_is_retried(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=1)
    fake_ee.start_errors = [fake_ee.EEException("Too many tasks already in the queue (3000).")]
    counts = run(fake_ee, tasks, merge_manifest([], tasks), tmp_path / "m.csv", TaskPolicy())
    assert fake_ee.start_attempts == 2 and counts == {"COMPLETED": 1}


def test_permanent_start_error_stops_and_is_recorded(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=2)
    fake_ee.start_errors = [fake_ee.EEException("Permission denied on folder.")]
    with pytest.raises(
        MinegeoInputError, match=r"Earth Engine refused task mine_0 \(Permission denied on folder\.\)"
    ):
        run(fake_ee, tasks, merge_manifest([], tasks), tmp_path / "m.csv", TaskPolicy())
    rows = read_manifest(tmp_path / "m.csv")
    assert [(r["state"], r["error"]) for r in rows] == [
        ("FAILED", "Permission denied on folder."),
        ("PLANNED", ""),
    ]


def test_task_failing_on_the_server_is_counted(fake_ee: FakeEE, tmp_path: Path) -> None:
    tasks = plan(Destination(), count=1)

    def fail(_: float) -> None:
        fake_ee.states["TASK0001"] = "FAILED"

    counts = run(fake_ee, tasks, merge_manifest([], tasks), tmp_path / "m.csv", TaskPolicy(), fail)
    assert counts == {"FAILED": 1}
