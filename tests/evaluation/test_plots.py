"""Tests for the precision-recall and reliability PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minegeo.evaluation.plots import plot_pr_curve, plot_reliability
from minegeo.evaluation.tally import ClassTally, tally_class

PNG = b"\x89PNG\r\n\x1a\n"


def _tallies() -> dict[str, ClassTally]:
    probs = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    found = tally_class(probs, probs > 0.5, np.ones((4, 4), bool), 0.5)
    # a class with no reference pixel has no PR curve, yet the plot is still drawn
    empty = tally_class(probs, np.zeros((4, 4), bool), np.ones((4, 4), bool), 0.5)
    return {"tailings_dam": found, "mine": empty}


def test_pr_curve_is_a_png(tmp_path: Path) -> None:
    path = plot_pr_curve(_tallies(), 0.5, tmp_path / "pr_curve.png")
    assert path.read_bytes()[:8] == PNG
    assert [p.name for p in tmp_path.iterdir()] == ["pr_curve.png"]


def test_reliability_is_a_png(tmp_path: Path) -> None:
    assert plot_reliability(_tallies(), tmp_path / "reliability.png").read_bytes()[:8] == PNG
