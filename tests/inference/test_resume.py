"""Tests for the finished-check: a map is kept only for the same checkpoint, settings and input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio

from minegeo.inference import resume, run_predict
from minegeo.inference.resume import input_hash
from tests.inference.predict_helpers import predict_config, random_scene, unet_ckpt

__all__ = ["unet_ckpt"]


def test_input_hash_follows_the_content(tmp_path: Path) -> None:
    a = random_scene(tmp_path / "a.tif", 32, 32, seed=0)
    first = input_hash([a])
    random_scene(a, 32, 32, seed=1)

    assert input_hash([a]) != first
    random_scene(a, 32, 32, seed=0)
    assert input_hash([a]) == first  # same bytes, same identity, whatever the time


def test_large_file_is_sampled_and_its_time_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resume, "FULL_HASH_BYTES", 1000)
    monkeypatch.setattr(resume, "SAMPLE_BYTES", 100)
    big = tmp_path / "big.tif"
    big.write_bytes(bytes(10_000))
    first = input_hash([big])
    mtime = big.stat().st_mtime_ns
    with big.open("r+b") as file:
        file.seek(9_950)
        file.write(b"x")  # inside the tail sample
    os.utime(big, ns=(mtime, mtime))
    edited = input_hash([big])
    os.utime(big, ns=(mtime + 10**9, mtime + 10**9))  # touched: bytes no sample covers may differ

    assert len({first, edited, input_hash([big])}) == 3


def test_reexported_scene_is_predicted_again(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64, seed=0)
    cfg = predict_config(unet_ckpt, scene, tmp_path / "out")
    run_predict(cfg)
    with rasterio.open(tmp_path / "out" / "s.prob.tif") as src:
        old = src.read()
    random_scene(scene, 64, 64, seed=1)  # re-exported under the same name

    assert run_predict(cfg) == 0
    run_predict(predict_config(unet_ckpt, scene, tmp_path / "fresh"))
    with (
        rasterio.open(tmp_path / "out" / "s.prob.tif") as kept,
        rasterio.open(tmp_path / "fresh" / "s.prob.tif") as fresh,
    ):
        assert not np.array_equal(kept.read(), old)
        np.testing.assert_array_equal(kept.read(), fresh.read())


def test_unchanged_scene_keeps_its_map(tmp_path: Path, unet_ckpt: Path) -> None:
    scene = random_scene(tmp_path / "s.tif", 64, 64)
    cfg = predict_config(unet_ckpt, scene, tmp_path / "out")
    run_predict(cfg)
    before = (tmp_path / "out" / "s.prob.tif").stat().st_mtime_ns

    run_predict(cfg)

    assert (tmp_path / "out" / "s.prob.tif").stat().st_mtime_ns == before
