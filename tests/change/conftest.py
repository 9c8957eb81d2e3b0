"""A hand-made time series: one place at four yearly periods, as predict leaves it.

Discs of mine probability (UTM 23S, 10 m) whose radius per period says what each site
does; ``series_run`` writes their probability maps, detects them and writes the report,
so the change stage finds the folder a predict run leaves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minegeo.detection.detections import detect_scene
from minegeo.detection.report import finish_run
from tests.detection.test_detections import make_bundle, segmentation_probs, write_prob

PERIODS = ("2019", "2020", "2021", "2022")
SHAPE = (160, 400)
#: site -> (centre row, centre column, radius in px per period; 0 = absent)
SITES: dict[str, tuple[int, int, tuple[float, ...]]] = {
    "stable": (40, 40, (10, 10, 10, 10)),
    "growing": (40, 120, (6, 8, 10, 12)),
    "new": (40, 200, (0, 0, 8, 9)),
    "gone": (40, 280, (9, 9, 0, 0)),
    "false_alarm": (40, 360, (0, 5, 0, 0)),
    "new_last": (120, 40, (0, 0, 0, 8)),
    "shrinking": (120, 120, (12, 12, 10, 8)),
}


def mine_map(period: int) -> np.ndarray:
    """(H, W) mine probability of one period: 0.9 inside each site's disc."""
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]]
    mine = np.zeros(SHAPE, np.float32)
    for row, col, radii in SITES.values():
        if radii[period] > 0:
            mine[np.hypot(rows - row, cols - col) <= radii[period]] = 0.9
    return mine


def write_series(folder: Path, place: str = "mg") -> list[tuple[str, Path, Path]]:
    """Write the maps of every period; returns (scene name, map, scene path) per period."""
    folder.mkdir(parents=True, exist_ok=True)
    maps = []
    for index, label in enumerate(PERIODS):
        stem = f"{place}.{label}"
        prob = write_prob(folder / f"{stem}.prob.tif", segmentation_probs(mine_map(index)), as_uint8=True)
        maps.append((stem, prob, folder / f"{stem}.tif"))
    return maps


def report(folder: Path, maps: list[tuple[str, Path, Path]]) -> None:
    """What predict writes after the scan: detections and the summary."""
    settings = {"ckpt": "model.ckpt", "input": str(folder), "out": str(folder)}
    settings["report"] = {"quicklook": False}  # type: ignore[assignment]
    detections = [detect_scene(prob, scene, make_bundle(), {"threshold": 0.6}) for _, prob, scene in maps]
    finish_run(detections, [(scene, prob) for _, prob, scene in maps], folder, settings)


@pytest.fixture
def series_run(tmp_path: Path) -> tuple[Path, list[tuple[str, Path, Path]]]:
    """A run folder with four periods of one place mapped and reported."""
    folder = tmp_path / "maps"
    maps = write_series(folder)
    report(folder, maps)
    return folder, maps
