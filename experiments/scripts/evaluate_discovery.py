"""Score a predict run on a synthetic world: which unregistered mines were found, how many false.

    uv run python experiments/scripts/evaluate_discovery.py maps/ data/demo [--split runs/.../split.gpkg]

``maps/`` is a ``minegeo.predict`` output folder (its ``detections.gpkg``); the world's
``labels.gpkg`` and ``world.json`` are the truth. With ``--split`` (a segmentation run's
block split) only detections and truth inside that run's test blocks are scored, and
with ``--scenes`` only those scenes, so a model is not credited for places it trained on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd

from minegeo.detection.report import evaluate_against_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maps", type=Path)
    parser.add_argument("world", type=Path)
    parser.add_argument("--split", type=Path, help="a run's split.gpkg: score only its test blocks")
    parser.add_argument("--scenes", help="comma-separated scene stems to score (e.g. held-out ones)")
    args = parser.parse_args()

    detections = gpd.read_file(args.maps / "detections.gpkg")
    truth = gpd.read_file(args.world / "labels.gpkg")
    unregistered = json.loads((args.world / "world.json").read_text())["unregistered"]
    if args.scenes:
        stems = args.scenes.split(",")
        detections = detections[detections["scene"].isin(stems)]
        truth = truth[truth["scene"].isin(stems)]
    if args.split is not None:
        blocks = gpd.read_file(args.split)
        test_area = blocks[blocks["split"] == "test"].union_all()
        detections = detections[detections.to_crs(blocks.crs).intersects(test_area)]
        truth = truth[truth.to_crs(blocks.crs).intersects(test_area)]
    scores = evaluate_against_truth(detections, truth, unregistered)
    print(json.dumps(scores, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
