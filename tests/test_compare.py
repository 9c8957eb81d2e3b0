"""minegeo.compare: a markdown table of the runs under a directory, from hand-made runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from minegeo.compare import find_runs, main, summarize_run
from minegeo.errors import MinegeoInputError

UNET = """
experiment_name: unet_mines
model:
  _target_: minegeo.models.smp_model
  arch: Unet
  encoder: resnet34
  in_channels: ${len:${data.bands}}
data: {bands: [B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12]}
"""
FCN = """
experiment_name: fcn_mines
model: {_target_: minegeo.models.DiscoveryFCN, in_channels: 3}
data: {bands: [B4, B3, B2]}
"""


def _run(directory: Path, config: str, **metrics: Any) -> Path:
    (directory / ".hydra").mkdir(parents=True)
    (directory / ".hydra" / "config.yaml").write_text(config)
    (directory / "metrics.json").write_text(json.dumps(metrics))
    return directory


@pytest.fixture
def multirun(tmp_path: Path) -> Path:
    _run(
        tmp_path / "0",
        UNET,
        **{"val/iou": 0.5, "test/iou": 0.4, "val/f1": 0.6, "epochs": 8, "wall_time_s": 75.0},
    )
    _run(tmp_path / "1", UNET, **{"val/iou": 0.7, "test/iou": 0.6, "test/iou_mine": 0.55, "epochs": 8})
    _run(tmp_path / "2", FCN, **{"val/f1": 0.9, "experiment": "fcn_mines", "wall_time_s": 3725.0})
    (tmp_path / "3").mkdir()  # a crashed job: no metrics.json
    return tmp_path


def _table(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main([*args]) == 0
    return capsys.readouterr().out.strip().splitlines()


def test_one_row_per_run_sorted_by_test_iou_then_val_f1(
    multirun: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _table(capsys, str(multirun))
    assert len(lines) == 2 + 3
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["1", "0", "2"]


def test_header_shows_only_metrics_some_run_has(multirun: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = [cell.strip() for cell in _table(capsys, str(multirun))[0].strip("|").split("|")]
    assert header == [
        "run", "experiment", "model", "encoder", "bands",
        "val/iou", "test/iou", "val/f1", "test/iou_mine", "epochs", "wall time",
    ]  # fmt: skip


def test_row_describes_model_bands_and_time(multirun: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _table(capsys, str(multirun))
    assert lines[3] == "| 0 | unet_mines | Unet | resnet34 | 12 | 0.5000 | 0.4000 | 0.6000 | – | 8 | 1m 15s |"
    assert lines[4] == "| 2 | fcn_mines | DiscoveryFCN | – | B4,B3,B2 | – | – | 0.9000 | – | – | 1h 02m |"


def test_sort_key_is_added_as_a_column(multirun: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _table(capsys, str(multirun), "--sort", "wall_time_s", "--ascending", "--metric", "val/recall")
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["0", "2", "1"]
    assert "val/recall" not in lines[0]  # no run has it


def test_a_single_run_directory_is_its_own_table(multirun: Path) -> None:
    assert find_runs(multirun / "1") == [multirun / "1"]
    assert summarize_run(multirun / "1", multirun / "1")["run"] == "1"


def test_directory_without_runs_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no runs found" in error


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="not a directory"):
        find_runs(tmp_path / "absent")


def test_corrupt_metrics_are_named(multirun: Path) -> None:
    (multirun / "0" / "metrics.json").write_text("{not json")
    with pytest.raises(MinegeoInputError, match=r"0/metrics.json: not readable JSON"):
        summarize_run(multirun / "0", multirun)
