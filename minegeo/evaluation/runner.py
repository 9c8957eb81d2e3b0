"""An evaluate run: check every input from headers, then score the scenes one at a time.

:func:`plan_evaluation` finds the maps, pairs them with their reference and checks
each pair (classes, CRS, overlap) before any pixel is read, so bad input is one line
and nothing is written. :func:`run_evaluation` then reads one scene at a time and keeps
only its counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minegeo.errors import MinegeoInputError
from minegeo.evaluation.maps import ProbabilityMap, find_maps, read_map_header, read_probabilities
from minegeo.evaluation.masks import MaskFolder
from minegeo.evaluation.polygons import PolygonLabels
from minegeo.evaluation.reference import ReferenceSource, ScenePair
from minegeo.evaluation.scores import pixel_scores
from minegeo.evaluation.settings import EvaluateSettings
from minegeo.evaluation.tally import ClassTally, tally_class

#: vector formats taken as label polygons
POLYGON_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".kml", ".kmz")
#: per-scene counts reported beside the scores
SCENE_COUNTS = ("tp", "fp", "fn", "sites_found", "sites_missed", "false_detections")


@dataclass
class Plan:
    """What a run will score: checked, nothing read but headers."""

    settings: EvaluateSettings
    source: ReferenceSource
    #: the maps with their reference
    pairs: list[ScenePair]
    #: maps that have no reference (skipped, with a warning)
    unmatched: list[Path]


@dataclass
class Evaluation:
    """A run's results: pooled tallies per class and one row per scene."""

    settings: EvaluateSettings
    classes: tuple[str, ...]
    pooled: dict[str, ClassTally]
    per_scene: list[dict[str, Any]] = field(default_factory=list)
    #: maps that had no reference
    skipped: list[Path] = field(default_factory=list)


def plan_evaluation(settings: EvaluateSettings) -> Plan:
    """Find the maps and their reference, and check every pair from headers.

    Args:
        settings: the run's settings.

    Returns:
        the plan.

    Raises:
        MinegeoInputError: no map, no reference for any map, a class the maps lack,
            grids that do not overlap, unreadable files, an output path that is a file.
    """
    out = settings.out_dir
    if out.exists() and not out.is_dir():
        raise MinegeoInputError(f"out={out}: is a file; expected a folder (new or existing)")
    maps = [read_map_header(path) for path in find_maps(settings.maps)]
    source = _reference_source(settings, maps)
    pairs, unmatched = source.pair(maps)
    if not pairs:
        raise MinegeoInputError(
            f"truth={settings.truth}: no mask for any map in {settings.maps}; expected "
            f"mask/mask_N.tif for img_N.prob.tif, or <stem>.tif or mask/<stem>.tif for <stem>.prob.tif"
        )
    for pair in pairs:
        source.check(pair)
    return Plan(settings, source, pairs, unmatched)


def _reference_source(settings: EvaluateSettings, maps: list[ProbabilityMap]) -> ReferenceSource:
    """A mask folder or a polygon file, by what ``truth`` is."""
    truth = Path(settings.truth)
    if truth.is_dir():
        return MaskFolder(truth, settings.mask_classes)
    if truth.suffix.lower() in POLYGON_SUFFIXES:
        labels = PolygonLabels(truth, maps[0].classes, settings.class_column, settings.layer)
        if not labels.classes:
            raise MinegeoInputError(
                f"truth={truth}: no polygon of a class to score; expected classes among "
                f"{', '.join(maps[0].classes)} besides background"
            )
        return labels
    what = "not found" if not truth.exists() else "not a folder or a vector file"
    raise MinegeoInputError(
        f"truth={truth}: {what}; expected a folder of masks (mask/mask_N.tif) or a "
        f"GPKG/GeoJSON file of label polygons"
    )


def run_evaluation(plan: Plan) -> Evaluation:
    """Score every pair, one scene in memory at a time.

    Args:
        plan: from :func:`plan_evaluation`.

    Returns:
        the pooled tallies and the per-scene rows.
    """
    settings, classes = plan.settings, plan.source.classes
    pooled = {name: ClassTally(settings.calibration_bins) for name in classes}
    evaluation = Evaluation(settings, classes, pooled, skipped=list(plan.unmatched))
    for pair in plan.pairs:
        tallies = score_scene(plan.source, pair, settings)
        row: dict[str, Any] = {"scene": pair.prob_map.stem, "truth": str(pair.truth)}
        for name, tally in tallies.items():
            pooled[name] += tally
            row.update(tally_row(name, tally))
        evaluation.per_scene.append(row)
    return evaluation


def score_scene(
    source: ReferenceSource, pair: ScenePair, settings: EvaluateSettings
) -> dict[str, ClassTally]:
    """One scene's tally per class, its map resampled onto the reference grid."""
    reference = source.load(pair)
    probs = read_probabilities(pair.prob_map, source.classes, reference.grid)
    return {
        name: tally_class(
            probs[index],
            reference.truth[name],
            reference.valid,
            settings.threshold,
            settings.calibration_bins,
        )
        for index, name in enumerate(source.classes)
    }


def tally_row(name: str, tally: ClassTally) -> dict[str, Any]:
    """``<class>/<score>`` and ``<class>/<count>`` keys of a tally."""
    scores = pixel_scores(tally.tp, tally.fp, tally.fn)
    counts = {key: getattr(tally, key) for key in SCENE_COUNTS}
    return {f"{name}/{key}": value for key, value in {**scores, **counts}.items()}
