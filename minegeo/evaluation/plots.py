"""The precision-recall and reliability plots (PNG), drawn off-screen with matplotlib's Agg.

matplotlib is imported when a plot is drawn, not with the package: it costs seconds,
and a bad input should be reported before that.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from minegeo.evaluation.scores import expected_calibration_error, pr_curve, reliability
from minegeo.evaluation.tally import HIST_BINS, ClassTally
from minegeo.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: figure size (inches) and resolution of both plots
_SIZE, _DPI = (5.0, 5.0), 120


def _figure() -> tuple[Figure, Axes]:
    """A new figure outside pyplot: no global state, and PNGs are drawn by Agg, no display."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE)
    return figure, figure.subplots()


def plot_pr_curve(pooled: dict[str, ClassTally], threshold: float, target: Path) -> Path:
    """One precision-recall curve per class, with the point at ``threshold`` marked.

    Args:
        pooled: the pooled tally of each class.
        threshold: the operating threshold to mark.
        target: the PNG to write (atomically).

    Returns:
        ``target``.
    """
    figure, axes = _figure()
    for name, tally in pooled.items():
        precision, recall = pr_curve(tally)
        if not precision.size:
            continue
        (line,) = axes.plot(recall, precision, label=name)
        tp, fp, fn = tally.tp, tally.fp, tally.fn
        if tp + fp and tp + fn:
            axes.plot(tp / (tp + fn), tp / (tp + fp), "o", color=line.get_color())
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
    axes.set_title(f"precision-recall (dot: p >= {threshold:g}; {HIST_BINS} thresholds)")
    _finish(figure, axes, target)
    return target


def plot_reliability(pooled: dict[str, ClassTally], target: Path) -> Path:
    """Reliability diagram: mean p against the class's frequency, per calibration bin.

    Args:
        pooled: the pooled tally of each class.
        target: the PNG to write (atomically).

    Returns:
        ``target``.
    """
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], ":", color="grey", label="calibrated")
    for name, tally in pooled.items():
        confidence, accuracy, _ = reliability(tally)
        filled = ~np.isnan(confidence)
        ece = expected_calibration_error(tally)
        label = name if ece is None else f"{name} (ECE {ece:.3f})"
        axes.plot(confidence[filled], accuracy[filled], "o-", label=label)
    axes.set(xlabel="mean predicted p", ylabel="observed frequency", xlim=(0, 1), ylim=(0, 1))
    axes.set_title("reliability")
    _finish(figure, axes, target)
    return target


def _finish(figure: Figure, axes: Axes, target: Path) -> None:
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()
    with atomic_path(target) as tmp:
        figure.savefig(tmp, dpi=_DPI, format="png")
