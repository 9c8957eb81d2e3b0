"""``evaluation.json`` (flat pooled keys, per-scene rows, the sweep) and ``evaluation.md``.

The JSON also says what was scored: ``maps``, ``truth``, ``threshold``, ``classes``,
``scenes`` and the maps ``skipped`` for want of a reference.

Pooled keys are ``<class>/<score>``: ``iou``, ``f1``, ``precision``, ``recall`` at the
threshold, ``ece``, ``best_threshold`` and ``best_f1`` from the sweep, and the counts
``tp``, ``fp``, ``fn``, ``sites_found``, ``sites_missed``, ``false_detections``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from minegeo.evaluation.plots import plot_pr_curve, plot_reliability
from minegeo.evaluation.runner import SCENE_COUNTS, Evaluation, tally_row
from minegeo.evaluation.scores import best_threshold, expected_calibration_error, sweep
from minegeo.io import atomic_path

#: the files a run writes into ``out``
OUTPUTS = ("evaluation.json", "evaluation.md", "pr_curve.png", "reliability.png")
#: the pooled scores printed per class and shown first in the markdown
HEADLINE = ("iou", "f1", "precision", "recall", "ece", "best_threshold", "best_f1")


def evaluation_dict(evaluation: Evaluation) -> dict[str, Any]:
    """The JSON document: run facts, flat pooled keys, ``per_scene`` and ``sweep``."""
    settings = evaluation.settings
    data: dict[str, Any] = {
        "maps": str(settings.maps),
        "truth": str(settings.truth),
        "threshold": settings.threshold,
        "calibration_bins": settings.calibration_bins,
        "classes": list(evaluation.classes),
        "scenes": len(evaluation.per_scene),
        "skipped": [path.name for path in evaluation.skipped],
    }
    sweeps: dict[str, list[dict[str, Any]]] = {}
    for name, tally in evaluation.pooled.items():
        sweeps[name] = sweep(tally)
        best, best_f1 = best_threshold(sweeps[name])
        pooled = {
            **tally_row(name, tally),
            f"{name}/ece": expected_calibration_error(tally),
            f"{name}/best_threshold": best,
            f"{name}/best_f1": best_f1,
        }
        data.update({f"{name}/{key}": pooled[f"{name}/{key}"] for key in (*HEADLINE, *SCENE_COUNTS)})
    data["per_scene"] = evaluation.per_scene
    data["sweep"] = sweeps
    return data


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]


def evaluation_markdown(data: dict[str, Any]) -> str:
    """``evaluation.md``: the same results as the JSON, as tables for people."""
    classes, threshold = data["classes"], data["threshold"]
    lines = [
        "# Evaluation",
        "",
        f"Maps `{data['maps']}` against `{data['truth']}`: {data['scenes']} scenes, p >= {threshold:g}.",
        "",
        "## Pooled over all scenes",
        "",
    ]
    keys = [*HEADLINE, "sites_found", "sites_missed", "false_detections"]
    lines += _table(["class", *keys], [[name, *(data[f"{name}/{key}"] for key in keys)] for name in classes])
    for name in classes:
        lines += ["", f"## Threshold sweep: {name}", ""]
        columns = ["threshold", "iou", "f1", "precision", "recall"]
        lines += _table(columns, [[row[key] for key in columns] for row in data["sweep"][name]])
    lines += ["", "## Per scene", ""]
    columns = [f"{name}/{key}" for name in classes for key in ("iou", "f1", "tp", "fp", "fn")]
    rows = [[row["scene"], *(row[key] for key in columns)] for row in data["per_scene"]]
    lines += _table(["scene", *columns], rows)
    return "\n".join(lines) + "\n"


def write_outputs(evaluation: Evaluation, out: Path) -> dict[str, Any]:
    """Write the JSON, the markdown and both plots into ``out``, each atomically.

    Args:
        evaluation: the run's results.
        out: the folder (made if needed).

    Returns:
        the JSON document.
    """
    data = evaluation_dict(evaluation)
    json_text = json.dumps(data, indent=2) + "\n"
    for name, text in (("evaluation.json", json_text), ("evaluation.md", evaluation_markdown(data))):
        with atomic_path(out / name) as tmp:
            tmp.write_text(text)
    plot_pr_curve(evaluation.pooled, evaluation.settings.threshold, out / "pr_curve.png")
    plot_reliability(evaluation.pooled, out / "reliability.png")
    return data


def headline_lines(data: dict[str, Any]) -> list[str]:
    """One line per class: the pooled IoU and F1 (what the command prints)."""
    return [
        f"{name}: iou {_cell(data[f'{name}/iou'])} f1 {_cell(data[f'{name}/f1'])} "
        f"(precision {_cell(data[f'{name}/precision'])}, recall {_cell(data[f'{name}/recall'])}, "
        f"{data['scenes']} scenes, p >= {data['threshold']:g})"
        for name in data["classes"]
    ]
