"""Evaluation: probability maps scored against reference masks or polygons, on the reference grid.

``python -m minegeo.evaluate maps=DIR truth=DIR|FILE [out=DIR]`` (``minegeo/evaluate.py``)
is :func:`plan_evaluation`, :func:`run_evaluation` and :func:`write_outputs`.
"""

from minegeo.evaluation.grid import Grid, covering_window
from minegeo.evaluation.maps import ProbabilityMap, find_maps, read_map_header, read_probabilities
from minegeo.evaluation.masks import MaskFolder
from minegeo.evaluation.polygons import PolygonLabels
from minegeo.evaluation.reference import Reference, ReferenceSource, ScenePair
from minegeo.evaluation.report import evaluation_dict, evaluation_markdown, headline_lines, write_outputs
from minegeo.evaluation.runner import Evaluation, Plan, plan_evaluation, run_evaluation
from minegeo.evaluation.scores import (
    SWEEP_THRESHOLDS,
    best_threshold,
    expected_calibration_error,
    pixel_scores,
    pr_curve,
    reliability,
    sweep,
)
from minegeo.evaluation.settings import EvaluateSettings, load_settings
from minegeo.evaluation.tally import ClassTally, tally_class

__all__ = [
    "SWEEP_THRESHOLDS",
    "ClassTally",
    "EvaluateSettings",
    "Evaluation",
    "Grid",
    "MaskFolder",
    "Plan",
    "PolygonLabels",
    "ProbabilityMap",
    "Reference",
    "ReferenceSource",
    "ScenePair",
    "best_threshold",
    "covering_window",
    "evaluation_dict",
    "evaluation_markdown",
    "expected_calibration_error",
    "find_maps",
    "headline_lines",
    "load_settings",
    "pixel_scores",
    "plan_evaluation",
    "pr_curve",
    "read_map_header",
    "read_probabilities",
    "reliability",
    "run_evaluation",
    "sweep",
    "tally_class",
    "write_outputs",
]
