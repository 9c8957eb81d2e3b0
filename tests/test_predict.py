"""Tests for the ``python -m minegeo.predict`` entry point."""

from __future__ import annotations

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
