"""Scores from tallies: pixel scores, the threshold sweep, the PR curve and calibration.

A score whose denominator is zero (IoU of a scene with neither reference nor
prediction, precision with no prediction) is None: undefined, not 0 or 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minegeo.evaluation.tally import HIST_BINS, ClassTally

#: thresholds of the sweep: 0.05, 0.10, ..., 0.95
SWEEP_THRESHOLDS = tuple(round(0.05 * step, 2) for step in range(1, 20))


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator else None


def pixel_scores(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """IoU, F1, precision and recall from pixel counts.

    Args:
        tp: true positives.
        fp: false positives.
        fn: false negatives.

    Returns:
        ``iou``, ``f1``, ``precision``, ``recall``; None where undefined.
    """
    return {
        "iou": _ratio(tp, tp + fp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
    }


def _at_edges(tally: ClassTally) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN when predicting at p >= each fine edge k / HIST_BINS (k = 0..HIST_BINS-1)."""
    tp = np.cumsum(tally.positives[::-1])[::-1]
    fp = np.cumsum(tally.negatives[::-1])[::-1]
    return tp, fp, int(tally.positives.sum()) - tp


def sweep(tally: ClassTally, thresholds: tuple[float, ...] = SWEEP_THRESHOLDS) -> list[dict[str, Any]]:
    """Pixel scores at each threshold, from the tally's histograms.

    Args:
        tally: the pooled tally.
        thresholds: multiples of 1 / HIST_BINS in (0, 1).

    Returns:
        one row per threshold: ``threshold``, ``iou``, ``f1``, ``precision``, ``recall``.
    """
    tp, fp, fn = _at_edges(tally)
    rows = []
    for threshold in thresholds:
        k = round(threshold * HIST_BINS)
        rows.append({"threshold": threshold, **pixel_scores(int(tp[k]), int(fp[k]), int(fn[k]))})
    return rows


def best_threshold(rows: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """The sweep's threshold with the highest F1 (the lowest on a tie) and that F1."""
    scored = [row for row in rows if row["f1"] is not None]
    if not scored:
        return None, None
    best = max(scored, key=lambda row: row["f1"])
    return best["threshold"], best["f1"]


def pr_curve(tally: ClassTally) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every fine edge where something is predicted.

    Returns:
        (precision, recall), both ordered from the lowest threshold up.
    """
    tp, fp, fn = _at_edges(tally)
    kept = (tp + fp) > 0
    if not (tp + fn).any():
        return np.empty(0), np.empty(0)
    return tp[kept] / (tp + fp)[kept], tp[kept] / (tp + fn)[kept]


def reliability(tally: ClassTally) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per calibration bin: mean p, fraction of the class, and pixel count (NaN when empty)."""
    count = tally.calibration_count
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(count > 0, tally.calibration_p / count, np.nan)
        accuracy = np.where(count > 0, tally.calibration_hits / count, np.nan)
    return confidence, accuracy, count


def expected_calibration_error(tally: ClassTally) -> float | None:
    """ECE: the pixel-weighted mean gap between mean p and the class's frequency per bin.

    Returns:
        the ECE in [0, 1], or None when no pixel was valid.
    """
    confidence, accuracy, count = reliability(tally)
    total = int(count.sum())
    if not total:
        return None
    filled = count > 0
    return float(np.sum(count[filled] * np.abs(confidence[filled] - accuracy[filled])) / total)
