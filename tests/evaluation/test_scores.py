"""Tests for scores from tallies: pixel scores, sweep, PR curve, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from minegeo.evaluation.scores import (
    SWEEP_THRESHOLDS,
    best_threshold,
    expected_calibration_error,
    pixel_scores,
    pr_curve,
    sweep,
)
from minegeo.evaluation.tally import ClassTally, tally_class


def test_pixel_scores_are_exact() -> None:
    assert pixel_scores(6, 2, 4) == {"iou": 0.5, "f1": 12 / 18, "precision": 0.75, "recall": 0.6}


def test_undefined_scores_are_none() -> None:
    assert pixel_scores(0, 0, 0) == {"iou": None, "f1": None, "precision": None, "recall": None}
    assert pixel_scores(0, 0, 3)["precision"] is None


def _ramp() -> ClassTally:
    # p = 0.0, 0.1, ..., 0.9 on ten pixels, the upper four of the class
    probs = (np.arange(10, dtype=np.float32) / 10).reshape(1, 10)
    truth = probs >= 0.55
    return tally_class(probs, truth, np.ones_like(truth), 0.5)


def test_sweep_matches_direct_counts_and_finds_the_best_threshold() -> None:
    tally = _ramp()
    rows = sweep(tally)
    assert [row["threshold"] for row in rows] == list(SWEEP_THRESHOLDS)
    at_half = next(row for row in rows if row["threshold"] == 0.5)
    assert at_half == {"threshold": 0.5, **pixel_scores(tally.tp, tally.fp, tally.fn)}
    assert best_threshold(rows) == (0.55, 1.0)


def test_sweep_thresholds_are_exact_on_float32_values() -> None:
    # float32(0.35) < 0.35: a pixel at 0.35 is below the 0.35 threshold, as tally_class says
    probs = np.array([[0.35]], dtype=np.float32)
    truth = np.ones((1, 1), dtype=bool)
    tally = tally_class(probs, truth, truth, 0.35)
    row = next(row for row in sweep(tally) if row["threshold"] == 0.35)
    assert row["recall"] == pixel_scores(tally.tp, tally.fp, tally.fn)["recall"]


def test_pr_curve_ends_at_full_recall() -> None:
    precision, recall = pr_curve(_ramp())
    assert recall[0] == 1.0 and precision[0] == 0.4
    assert precision[-1] == 1.0


def test_calibrated_probabilities_have_zero_ece() -> None:
    # in bin [0.2, 0.3) every pixel has p = 0.25 and a quarter are of the class
    probs = np.full((1, 8), 0.25, dtype=np.float32)
    truth = np.array([[True, True] + [False] * 6])
    assert expected_calibration_error(tally_class(probs, truth, np.ones_like(truth), 0.5)) == 0.0


def test_ece_is_the_weighted_gap() -> None:
    probs = np.array([[0.95, 0.95, 0.05, 0.05]], dtype=np.float32)
    truth = np.array([[True, False, False, False]])
    # bin 9: mean p 0.95, frequency 0.5 (gap 0.45); bin 0: 0.05 vs 0 (gap 0.05); equal weights
    ece = expected_calibration_error(tally_class(probs, truth, np.ones_like(truth), 0.5))
    assert ece == pytest.approx(0.25, abs=1e-6)


def test_no_valid_pixel_has_no_ece() -> None:
    assert expected_calibration_error(ClassTally()) is None
