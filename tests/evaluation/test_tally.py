"""Tests for one scene's counts: pixels at the threshold, sites and histograms."""

from __future__ import annotations

import numpy as np

from minegeo.evaluation.tally import HIST_BINS, ClassTally, tally_class


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth = np.zeros((10, 10), dtype=bool)
    truth[1:4, 1:4] = True  # site A, 9 px: 6 found
    truth[7:9, 7:9] = True  # site B, 4 px: missed
    probs = np.zeros((10, 10), dtype=np.float32)
    probs[1:4, 1:3] = 0.8  # 6 TP on A
    probs[5, 5] = 0.6  # a false detection
    probs[0, 9] = 0.9  # another, on an ignored pixel: not counted
    valid = np.ones((10, 10), dtype=bool)
    valid[0, 9] = False
    return probs, truth, valid


def test_known_pixels_give_exact_counts() -> None:
    tally = tally_class(*_scene(), threshold=0.5)
    assert (tally.tp, tally.fp, tally.fn, tally.tn) == (6, 1, 7, 99 - 14)


def test_sites_found_missed_and_false_detections() -> None:
    tally = tally_class(*_scene(), threshold=0.5)
    assert (tally.sites_found, tally.sites_missed, tally.false_detections) == (1, 1, 1)


def test_diagonal_pixels_are_one_site() -> None:
    truth = np.eye(4, dtype=bool)
    tally = tally_class(np.where(truth, 0.9, 0.0).astype(np.float32), truth, np.ones((4, 4), bool), 0.5)
    assert (tally.sites_found, tally.sites_missed, tally.false_detections) == (1, 0, 0)


def test_nan_pixels_are_left_out() -> None:
    probs, truth, valid = _scene()
    probs[1, 1] = np.nan
    tally = tally_class(probs, truth, valid, 0.5)
    assert (tally.tp, tally.fn) == (5, 7)
    assert tally.positives.sum() + tally.negatives.sum() == 98


def test_histograms_agree_with_the_threshold() -> None:
    probs, truth, valid = _scene()
    tally = tally_class(probs, truth, valid, 0.5)
    assert tally.positives[HIST_BINS // 2 :].sum() == tally.tp
    assert tally.negatives[HIST_BINS // 2 :].sum() == tally.fp


def test_tallies_add_up() -> None:
    one = tally_class(*_scene(), threshold=0.5)
    total = ClassTally()
    total += one
    total += one
    assert (total.tp, total.sites_missed) == (12, 2)
    assert total.calibration_count.sum() == 2 * 99
