"""Tests for the ``python -m minegeo.predict`` entry point."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.inference.predict_helpers import random_scene, random_scenes, unet_ckpt

__all__ = ["unet_ckpt"]


def _predict(ckpt: Path, input_: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "minegeo.predict",
        f"ckpt={ckpt}",
        f"input={input_}",
        f"out={out}",
        "postprocess=false",
        "progress=false",
        "tile_size=64",
        "overlap=16",
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_bad_checkpoint_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "bad.ckpt").write_text("nope")
    random_scene(tmp_path / "s.tif", 64, 64)
    process = _predict(tmp_path / "bad.ckpt", tmp_path / "s.tif", tmp_path / "out")
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1
    assert err.strip().splitlines()[-1].startswith("error: ") and "bad.ckpt" in err
    assert "Traceback" not in err


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "minegeo.predict", "progress=false", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture
def run_files(tmp_path: Path) -> dict[str, Path]:
    """A checkpoint file, a scene folder and a plain file (cheap checks never open them)."""
    (tmp_path / "m.ckpt").write_bytes(b"")
    (tmp_path / "scenes").mkdir()
    random_scene(tmp_path / "scenes" / "s.tif", 64, 64)
    (tmp_path / "afile").write_text("x")
    return {"ckpt": tmp_path / "m.ckpt", "input": tmp_path / "scenes", "afile": tmp_path / "afile"}


BAD_RUNS = [
    (["tile_size=-5"], "error: tile_size=-5: expected a whole number >= 1"),
    (["tile_size=0"], "error: tile_size=0: expected a whole number >= 1"),
    (["tile_size=abc"], "error: tile_size=abc: expected a whole number"),
    (["overlap=-300"], "error: overlap=-300: expected a whole number from 0 to tile_size/2 (256)"),
    (["fcn_cells=0"], "error: fcn_cells=0: expected a whole number >= 1"),
    (["detect.threshold=2"], "error: detect.threshold=2.0: expected a value in (0, 1]"),
    (["tta=sideways"], "error: tta=sideways: expected one of none, flips, d4"),
    (["ckpt={input}/missing.ckpt"], "error: ckpt={input}/missing.ckpt: file not found"),
    (["oretype.ckpt={input}/ore.ckpt"], "error: oretype.ckpt={input}/ore.ckpt: file not found"),
    (["registry.dams={input}/dams.tsv"], "error: registry.dams={input}/dams.tsv: file not found"),
    (["out={afile}"], "error: out={afile}: is a file; expected a folder (new or existing)"),
    (["out={input}"], "error: out={input}: holds the input {input}/s.tif, so maps would be read back"),
]


@pytest.mark.parametrize(("args", "first_line"), BAD_RUNS)
def test_bad_setting_or_file_is_one_line_exit_1_nothing_written(
    tmp_path: Path, run_files: dict[str, Path], args: list[str], first_line: str
) -> None:
    paths = {key: str(path) for key, path in run_files.items()}
    defaults = [f"ckpt={paths['ckpt']}", f"input={paths['input']}", f"out={tmp_path / 'out'}"]

    result = _run(*defaults, *(arg.format(**paths) for arg in args))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(first_line.format(**paths))
    assert not (tmp_path / "out").exists() and sorted(p.name for p in run_files["input"].iterdir()) == [
        "s.tif"
    ]


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of every file, summary.json without its one dated key."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "summary.json":
                summary = json.loads(data)
                summary.pop("created")
                data = json.dumps(summary, sort_keys=True).encode()
            digests[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return digests


@pytest.mark.slow
def test_two_runs_and_a_resumed_run_give_identical_bytes(
    tmp_path: Path, unet_ckpt: Path, small_world: Path
) -> None:
    registry = [
        f"registry.concessions={small_world / 'registered.gpkg'}",
        f"registry.dams={small_world / 'anm_dams.tsv'}",
    ]
    scenes = tmp_path / "scenes"
    shutil.copytree(small_world / "scenes", scenes)

    def predict(out: Path) -> subprocess.Popen[str]:
        args = [f"ckpt={unet_ckpt}", f"input={scenes}", f"out={out}", "progress=false", "tile_size=128"]
        command = [sys.executable, "-m", "minegeo.predict", *args, *registry]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(process: subprocess.Popen[str]) -> None:
        _, err = process.communicate(timeout=900)
        assert process.returncode == 0, err

    finish(predict(tmp_path / "a"))
    finish(predict(tmp_path / "b"))
    victim = predict(tmp_path / "c")
    while victim.poll() is None and not list((tmp_path / "c").glob("*.prob.tif")):
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert len(list((tmp_path / "c").glob("*.prob.tif"))) == 1  # killed between the two scenes
    (tmp_path / "c" / ".detections.partial-999999.csv").write_text("cut short")  # a kill while writing
    finish(predict(tmp_path / "c"))

    reference = _digests(tmp_path / "a")
    assert {"detections.gpkg", "detections.kml", "summary.json"} <= set(reference)
    assert _digests(tmp_path / "b") == reference
    assert _digests(tmp_path / "c") == reference


def _complete(path: Path) -> bool:
    with rasterio.open(path) as src:
        return "checkpoint_hash" in src.tags() and src.read().shape[0] == 3


@pytest.mark.slow
def test_killed_run_resumes_to_identical_output(tmp_path: Path, unet_ckpt: Path) -> None:
    scenes = random_scenes(tmp_path / "scenes", 4, 320, 320)
    reference = _predict(unet_ckpt, scenes, tmp_path / "ref")
    assert reference.wait(timeout=600) == 0
    victim = _predict(unet_ckpt, scenes, tmp_path / "out")
    while victim.poll() is None and not list((tmp_path / "out").glob("*.prob.tif")):
        time.sleep(0.05)
    assert victim.poll() is None, victim.communicate()[1]  # still running: the kill cuts the run short
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finals = list((tmp_path / "out").glob("*.prob.tif"))
    assert 0 < len(finals) < 4 and all(_complete(path) for path in finals)
    assert _predict(unet_ckpt, scenes, tmp_path / "out").wait(timeout=600) == 0
    for i in range(4):
        with (
            rasterio.open(tmp_path / "ref" / f"s{i}.prob.tif") as a,
            rasterio.open(tmp_path / "out" / f"s{i}.prob.tif") as b,
        ):
            np.testing.assert_array_equal(a.read(), b.read())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"s{i}.prob.tif" for i in range(4)]
