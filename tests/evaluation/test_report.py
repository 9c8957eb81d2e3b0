"""Tests for evaluation.json and evaluation.md."""

from __future__ import annotations

import json
from pathlib import Path

from minegeo.evaluation.report import (
    OUTPUTS,
    evaluation_dict,
    evaluation_markdown,
    headline_lines,
    write_outputs,
)
from minegeo.evaluation.runner import Evaluation, plan_evaluation, run_evaluation
from minegeo.evaluation.settings import load_settings
from tests.evaluation.rasters import square, write_map, write_mask

POOLED = (
    "iou",
    "f1",
    "precision",
    "recall",
    "ece",
    "best_threshold",
    "best_f1",
    "sites_found",
    "sites_missed",
    "false_detections",
)


def _evaluation(tmp_path: Path) -> Evaluation:
    write_map(tmp_path / "maps/img_0.prob.tif", square(10, slice(0, 4), slice(0, 4), 0.8))
    write_mask(tmp_path / "truth/mask/mask_0.tif", square(10, slice(0, 4), slice(0, 2)))
    settings = load_settings({"maps": str(tmp_path / "maps"), "truth": str(tmp_path / "truth")})
    return run_evaluation(plan_evaluation(settings))


def test_json_has_flat_pooled_keys_per_scene_rows_and_sweep(tmp_path: Path) -> None:
    data = evaluation_dict(_evaluation(tmp_path))
    assert all(f"tailings_dam/{key}" in data for key in POOLED)
    assert data["tailings_dam/iou"] == 0.5 and data["tailings_dam/precision"] == 0.5
    assert data["per_scene"][0]["scene"] == "img_0" and data["per_scene"][0]["tailings_dam/tp"] == 8
    assert len(data["sweep"]["tailings_dam"]) == 19
    assert data["tailings_dam/best_threshold"] == 0.05 and data["tailings_dam/best_f1"] == 2 / 3


def test_markdown_has_pooled_sweep_and_scene_tables(tmp_path: Path) -> None:
    text = evaluation_markdown(evaluation_dict(_evaluation(tmp_path)))
    assert "| tailings_dam | 0.500 | 0.667 | 0.500 | 1.000 |" in text
    assert "## Threshold sweep: tailings_dam" in text and "| img_0 |" in text


def test_outputs_are_written_and_readable(tmp_path: Path) -> None:
    data = write_outputs(_evaluation(tmp_path), tmp_path / "out")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(OUTPUTS)
    assert json.loads((tmp_path / "out/evaluation.json").read_text()) == data
    for png in ("pr_curve.png", "reliability.png"):
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_headline_is_one_line_per_class(tmp_path: Path) -> None:
    lines = headline_lines(evaluation_dict(_evaluation(tmp_path)))
    assert len(lines) == 1 and lines[0].startswith("tailings_dam: iou 0.500 f1 0.667")


def test_scene_without_reference_or_prediction_has_undefined_iou(tmp_path: Path) -> None:
    write_map(tmp_path / "maps/img_0.prob.tif", square(10, slice(0, 4), slice(0, 4), 0.8))
    write_mask(tmp_path / "truth/mask/mask_0.tif", square(10, slice(0, 4), slice(0, 4)))
    write_map(tmp_path / "maps/img_1.prob.tif", square(10, slice(0, 1), slice(0, 1), 0.0))
    write_mask(tmp_path / "truth/mask/mask_1.tif", square(10, slice(0, 1), slice(0, 1), 0.0))
    settings = load_settings({"maps": str(tmp_path / "maps"), "truth": str(tmp_path / "truth")})
    data = evaluation_dict(run_evaluation(plan_evaluation(settings)))
    assert [row["tailings_dam/iou"] for row in data["per_scene"]] == [1.0, None]
    assert data["tailings_dam/iou"] == 1.0
    assert "| img_1 | – | – | 0 | 0 | 0 |" in evaluation_markdown(data)
