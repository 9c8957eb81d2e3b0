"""``python -m minegeo.predict`` on a time series: the change stage after the scan, kills, CSV input."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.inference.predict_helpers import random_scene, unet_ckpt

__all__ = ["unet_ckpt"]

PERIODS = ("2019", "2020", "2021")


def series_scenes(folder: Path) -> Path:
    """Two places at three periods, random reflectance."""
    folder.mkdir()
    for index, (place, period) in enumerate((p, y) for p in ("a", "b") for y in PERIODS):
        random_scene(folder / f"{place}.{period}.tif", 96, 96, seed=index)
    return folder


def predict(ckpt: Path, input_: Path | str, out: Path, *extra: str) -> subprocess.Popen[str]:
    args = [f"ckpt={ckpt}", f"input={input_}", f"out={out}", "progress=false", "tile_size=64", "overlap=16"]
    args += ["detect.threshold=0.3", "report.quicklook=false", *extra]
    command = [sys.executable, "-m", "minegeo.predict", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every output but summary.json, whose ``created`` differs between runs."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "summary.json"
    }


@pytest.mark.slow
def test_a_killed_time_series_run_resumes_to_identical_output(tmp_path: Path, unet_ckpt: Path) -> None:
    scenes = series_scenes(tmp_path / "scenes")
    assert predict(unet_ckpt, scenes, tmp_path / "ref").wait(timeout=600) == 0
    reference = digests(tmp_path / "ref")
    assert {"changes.csv", "changes.gpkg", "changes.kml", "a.change.tif", "b.change.tif"} <= set(reference)
    for trigger in ("*.prob.tif", "detections.csv"):  # during the scan, then between the report and the stage
        out = tmp_path / f"killed_{trigger[0]}"
        victim = predict(unet_ckpt, scenes, out)
        while victim.poll() is None and not list(out.glob(trigger)):
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert predict(unet_ckpt, scenes, out).wait(timeout=600) == 0
        assert digests(out) == reference


@pytest.mark.slow
def test_a_csv_of_path_period_is_a_time_series(tmp_path: Path, unet_ckpt: Path) -> None:
    rows = ["path,period"]
    for index, period in enumerate(PERIODS):
        (tmp_path / period).mkdir()
        random_scene(tmp_path / period / "mg.tif", 96, 96, seed=index)  # one folder per period
        rows.append(f"{period}/mg.tif,{period}")
    (tmp_path / "series.csv").write_text("\n".join(rows) + "\n")
    run = predict(unet_ckpt, tmp_path / "series.csv", tmp_path / "out")
    assert run.wait(timeout=600) == 0, run.stderr.read() if run.stderr else ""
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {f"mg.{p}.prob.tif" for p in PERIODS} | {"changes.csv", "mg.change.tif"} <= names


@pytest.mark.slow
def test_a_place_missing_a_period_stops_before_the_scan(tmp_path: Path, unet_ckpt: Path) -> None:
    scenes = series_scenes(tmp_path / "scenes")
    (scenes / "b.2020.tif").unlink()
    run = predict(unet_ckpt, scenes, tmp_path / "out")
    assert run.wait(timeout=600) == 1
    assert run.stderr is not None
    lines = run.stderr.read().strip().splitlines()
    assert lines[-1] == (
        "error: b: no scene for period 2020 (the run's periods are 2019, 2020, 2021); expected every place "
        "at every period, or each place predicted on its own"
    )
    assert not list((tmp_path / "out").glob("*.prob.tif"))
