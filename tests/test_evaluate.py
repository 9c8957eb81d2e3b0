"""Tests for the ``python -m minegeo.evaluate`` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from rasterio.transform import from_origin
from shapely.geometry import box

from minegeo.config import CONFIG_DIR
from minegeo.evaluate import main
from tests.evaluation.rasters import UTM, square, write_map, write_mask

OUTPUTS = {"evaluation.json", "evaluation.md", "pr_curve.png", "reliability.png"}


def _run(capsys: pytest.CaptureFixture[str], *overrides: str) -> tuple[int, str, str]:
    """Compose conf/evaluate.yaml with ``overrides`` and run the entry point in-process."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("evaluate", overrides=list(overrides))
    try:
        main(cfg)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _scene(root: Path, n: int = 0) -> None:
    write_map(root / f"maps/img_{n}.prob.tif", square(10, slice(0, 4), slice(0, 4), 0.8))
    write_mask(root / f"truth/mask/mask_{n}.tif", square(10, slice(0, 4), slice(0, 2)))


def _refused(capsys: pytest.CaptureFixture[str], root: Path, *overrides: str) -> str:
    """The one error line of a refused run; checks exit 1 and that nothing was written."""
    code, out, err = _run(capsys, f"out={root / 'out'}", *overrides)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not (root / "out").exists()
    return lines[0]


def test_command_prints_pooled_scores_and_writes_beside_the_maps(tmp_path: Path) -> None:
    _scene(tmp_path)
    command = [
        sys.executable,
        "-m",
        "minegeo.evaluate",
        f"maps={tmp_path / 'maps'}",
        f"truth={tmp_path / 'truth'}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        "tailings_dam: iou 0.500 f1 0.667 (precision 0.500, recall 1.000, 1 scenes, p >= 0.5)"
    ]
    assert {path.name for path in (tmp_path / "maps").iterdir()} >= OUTPUTS


def test_maps_without_mask_give_a_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scene(tmp_path)
    write_map(tmp_path / "maps/img_9.prob.tif", square(4, slice(0, 1), slice(0, 1)))
    code, out, err = _run(
        capsys, f"maps={tmp_path / 'maps'}", f"truth={tmp_path / 'truth'}", f"out={tmp_path / 'o'}"
    )
    assert code == 0 and out.startswith("tailings_dam: iou 0.500")
    assert err.strip() == "warning: 1 maps have no reference, skipped: img_9.prob.tif"
    assert json.loads((tmp_path / "o/evaluation.json").read_text())["skipped"] == ["img_9.prob.tif"]


def test_polygon_truth_is_scored_on_the_map_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_map(tmp_path / "maps/a.prob.tif", square(10, slice(0, 4), slice(0, 4), 0.8))
    # the 4 x 2 px box at the grid's north-west corner (500000, 8000000), 10 m pixels
    frame = gpd.GeoDataFrame(
        {"kind": ["tailings_dam"]}, geometry=[box(500_000, 7_999_960, 500_020, 8_000_000)], crs=UTM
    )
    frame.to_file(tmp_path / "labels.gpkg")
    code, out, _ = _run(
        capsys, f"maps={tmp_path / 'maps'}", f"truth={tmp_path / 'labels.gpkg'}", "class_column=kind"
    )
    assert code == 0 and out.startswith("tailings_dam: iou 0.500 f1 0.667")


def test_no_maps_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "maps").mkdir()
    line = _refused(capsys, tmp_path, f"maps={tmp_path / 'maps'}", f"truth={tmp_path}")
    assert "maps=" in line and "no *.prob.tif found" in line


def test_no_matching_masks_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scene(tmp_path)
    (tmp_path / "truth/mask/mask_0.tif").rename(tmp_path / "truth/mask/mask_5.tif")
    line = _refused(capsys, tmp_path, f"maps={tmp_path / 'maps'}", f"truth={tmp_path / 'truth'}")
    assert "no mask for any map" in line


def test_grids_that_do_not_overlap_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scene(tmp_path)
    write_mask(tmp_path / "truth/mask/mask_0.tif", np.zeros((10, 10)), transform=from_origin(0, 0, 10, 10))
    line = _refused(capsys, tmp_path, f"maps={tmp_path / 'maps'}", f"truth={tmp_path / 'truth'}")
    assert "img_0.prob.tif: does not overlap its mask" in line


def test_class_the_maps_lack_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scene(tmp_path)
    line = _refused(
        capsys,
        tmp_path,
        f"maps={tmp_path / 'maps'}",
        f"truth={tmp_path / 'truth'}",
        "mask_values={1: tailings_dam, 2: mine}",
    )
    assert "no band for class mine" in line


def test_unreadable_tiff_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scene(tmp_path)
    (tmp_path / "maps/img_0.prob.tif").write_bytes(b"II*\x00garbage")
    line = _refused(capsys, tmp_path, f"maps={tmp_path / 'maps'}", f"truth={tmp_path / 'truth'}")
    assert "img_0.prob.tif: not a readable GeoTIFF" in line


def test_threshold_outside_zero_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scene(tmp_path)
    line = _refused(
        capsys, tmp_path, f"maps={tmp_path / 'maps'}", f"truth={tmp_path / 'truth'}", "threshold=1.5"
    )
    assert line == "error: threshold=1.5: expected a number in (0, 1)"
