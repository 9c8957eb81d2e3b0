"""Counts of one class over scenes: pixels at the threshold, sites, and histograms of p.

A scene adds its counts and is dropped, so memory holds one scene at a time: the sweep,
the precision-recall curve and the calibration all come from histograms, never from
the pixels themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

#: fine bins of p for the sweep and the precision-recall curve; edges are k / HIST_BINS,
#: so thresholds on a 0.001 step (0.05, 0.5, ...) fall exactly on an edge
HIST_BINS = 1000
HIST_EDGES = np.arange(HIST_BINS + 1, dtype=np.float64) / HIST_BINS
#: 8-connectivity: diagonal neighbours belong to one site
_EIGHT = np.ones((3, 3), dtype=bool)


def _zeros(bins: int) -> np.ndarray:
    return np.zeros(bins, dtype=np.int64)


@dataclass
class ClassTally:
    """One class's counts, summed over the scenes added.

    Args:
        calibration_bins: equal-width bins of p for the calibration error.
    """

    calibration_bins: int = 10
    #: pixels at p >= threshold: true and false positives, false negatives, true negatives
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    #: reference sites with a predicted pixel on them, and without
    sites_found: int = 0
    sites_missed: int = 0
    #: predicted components touching no reference site
    false_detections: int = 0
    #: valid pixels of the class (positives) and not (negatives) per fine bin of p
    positives: np.ndarray = field(default_factory=lambda: _zeros(HIST_BINS))
    negatives: np.ndarray = field(default_factory=lambda: _zeros(HIST_BINS))
    #: per calibration bin: pixels, their summed p, and how many are of the class
    calibration_count: np.ndarray = field(init=False)
    calibration_p: np.ndarray = field(init=False)
    calibration_hits: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.calibration_count = _zeros(self.calibration_bins)
        self.calibration_p = np.zeros(self.calibration_bins, dtype=np.float64)
        self.calibration_hits = _zeros(self.calibration_bins)

    def __iadd__(self, other: ClassTally) -> ClassTally:
        """Add another tally's counts (same calibration bins)."""
        for name in ("tp", "fp", "fn", "tn", "sites_found", "sites_missed", "false_detections"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("positives", "negatives", "calibration_count", "calibration_p", "calibration_hits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def tally_class(
    probs: np.ndarray, truth: np.ndarray, valid: np.ndarray, threshold: float, calibration_bins: int = 10
) -> ClassTally:
    """One scene's counts for one class.

    Args:
        probs: float32 (rows, cols) p of the class, NaN where the map has none.
        truth: bool (rows, cols), True on the class's reference pixels.
        valid: bool (rows, cols), the pixels the reference says something about.
        threshold: a pixel is predicted where p >= threshold.
        calibration_bins: equal-width bins of p for the calibration error.

    Returns:
        the scene's tally.
    """
    valid = valid & ~np.isnan(probs)
    # a float64 threshold on both sides, so p >= threshold here agrees with the edges the
    # sweep counts from (a float32 comparison would round 0.35 the other way)
    predicted = valid & (probs >= np.float64(threshold))
    tally = ClassTally(calibration_bins)
    tally.tp = int(np.count_nonzero(predicted & truth))
    tally.fp = int(np.count_nonzero(predicted & ~truth))
    tally.fn = int(np.count_nonzero(valid & truth & ~predicted))
    tally.tn = int(np.count_nonzero(valid)) - tally.tp - tally.fp - tally.fn
    _count_sites(tally, predicted, truth & valid)
    p, hits = probs[valid], truth[valid]
    fine = np.clip(np.searchsorted(HIST_EDGES, p, side="right") - 1, 0, HIST_BINS - 1)
    tally.positives = np.bincount(fine[hits], minlength=HIST_BINS)
    tally.negatives = np.bincount(fine[~hits], minlength=HIST_BINS)
    coarse = np.clip((p * calibration_bins).astype(np.int64), 0, calibration_bins - 1)
    tally.calibration_count = np.bincount(coarse, minlength=calibration_bins)
    tally.calibration_p = np.bincount(coarse, weights=p.astype(np.float64), minlength=calibration_bins)
    tally.calibration_hits = np.bincount(coarse[hits], minlength=calibration_bins)
    return tally


def _count_sites(tally: ClassTally, predicted: np.ndarray, truth: np.ndarray) -> None:
    """Object-level counts: 8-connected reference sites and predicted components."""
    sites, n_sites = ndimage.label(truth, structure=_EIGHT)
    detections, n_detections = ndimage.label(predicted, structure=_EIGHT)
    found = np.unique(sites[predicted & truth])
    tally.sites_found = int(np.count_nonzero(found))
    tally.sites_missed = n_sites - tally.sites_found
    touching = np.unique(detections[truth & predicted])
    tally.false_detections = n_detections - int(np.count_nonzero(touching))
