"""What maps are scored against: per-class truth on a grid, and where it comes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from minegeo.evaluation.grid import Grid
from minegeo.evaluation.maps import ProbabilityMap

#: the class no score is given for: its pixels are the negatives of every other class
BACKGROUND = "background"


@dataclass(frozen=True)
class ScenePair:
    """A map and the reference file it is scored against."""

    #: the probability map
    prob_map: ProbabilityMap
    #: the mask, or the polygon file (shared by every scene)
    truth: Path


@dataclass
class Reference:
    """One scene's truth: for each scored class, where it is, on one grid."""

    #: the grid the truth lies on (maps are resampled onto it)
    grid: Grid
    #: class name -> bool (rows, cols), True on the class's pixels
    truth: dict[str, np.ndarray]
    #: bool (rows, cols): pixels the reference says something about
    valid: np.ndarray


class ReferenceSource(Protocol):
    """A kind of reference labels (a mask folder, a polygon file)."""

    #: the classes scored, in order (``background`` never among them)
    classes: tuple[str, ...]

    def pair(self, maps: list[ProbabilityMap]) -> tuple[list[ScenePair], list[Path]]:
        """The maps with their reference, and the maps without one."""
        ...

    def check(self, pair: ScenePair) -> None:
        """Refuse a pair that cannot be scored, from headers only (cheap)."""
        ...

    def load(self, pair: ScenePair) -> Reference:
        """The pair's truth, on the grid it is scored on."""
        ...


def scored_classes(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The distinct classes of ``names``, in order, ``background`` left out."""
    return tuple(dict.fromkeys(name for name in names if name != BACKGROUND))
