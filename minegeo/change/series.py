"""Which maps form a time series: places and their periods, from file names or a CSV.

A scene named ``<place>.<period>`` (``scene_00.2019``, ``scan_mg_r000_c001.2025Q1``, the
names ``python -m minegeo.export periods=[...]`` writes) is the place at that period. A
CSV with columns ``path,period`` names the period of each file whatever its name; its
scenes are then called ``<place>.<period>`` after the file's stem.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from minegeo.errors import MinegeoInputError
from minegeo.periods import Period, parse_period, split_period

__all__ = ["SeriesMap", "TimeSeries", "is_series_csv", "read_series_csv", "time_series"]

#: A stem ending in ``.<something that starts like a period>``: a period name gone wrong.
_LOOKS_LIKE_PERIOD = re.compile(r"\.\d{4}[^.]*$")


@dataclass(frozen=True)
class SeriesMap:
    """One period of a place: its probability map and the scene it came from."""

    period: Period
    #: the scene's name, ``<place>.<period>``
    stem: str
    prob: Path
    scene: Path


@dataclass(frozen=True)
class TimeSeries:
    """A place seen at several periods (sorted by period)."""

    place: str
    maps: tuple[SeriesMap, ...]

    @property
    def periods(self) -> list[Period]:
        """The periods, earliest first."""
        return [item.period for item in self.maps]

    @property
    def labels(self) -> list[str]:
        """The period labels, earliest first."""
        return [item.period.label for item in self.maps]


def time_series(maps: Iterable[tuple[str, Path, Path]]) -> list[TimeSeries]:
    """Group mapped scenes into places by their ``<place>.<period>`` names.

    Args:
        maps: (scene name, probability map, scene path) of every scene mapped.

    Returns:
        every place with a period in its name, with its periods sorted (a place may have
        one period only); scenes without a period are left out.

    Raises:
        MinegeoInputError: for a name whose period does not parse, or a place given the
            same period twice.
    """
    groups: dict[str, list[SeriesMap]] = defaultdict(list)
    for stem, prob, scene in maps:
        split = split_period(stem)
        if split is None:
            if _LOOKS_LIKE_PERIOD.search(stem):
                raise MinegeoInputError(
                    f"{scene}: period {stem.rpartition('.')[2]!r} in its name is not valid; expected "
                    "<place>.<period> with a year (2019), a quarter (2025Q1) or a range (20190601-20190901)"
                )
            continue
        place, label = split
        groups[place].append(SeriesMap(parse_period(label), stem, Path(prob), Path(scene)))
    series = []
    for place, items in sorted(groups.items()):
        items.sort(key=lambda item: item.period)
        labels = [item.period.label for item in items]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            scenes = ", ".join(str(item.scene) for item in items if item.period.label == repeated[0])
            raise MinegeoInputError(
                f"{place}: period {repeated[0]} is given twice ({scenes}); expected one scene per period"
            )
        series.append(TimeSeries(place, tuple(items)))
    return series


def is_series_csv(path: str | Path) -> bool:
    """Whether an ``input`` is a CSV listing scenes with their periods."""
    return Path(path).suffix.lower() == ".csv" and Path(path).is_file()


def read_series_csv(path: str | Path) -> list[tuple[Path, Period]]:
    """Read a CSV of ``path,period`` rows (paths relative to the CSV's folder).

    Args:
        path: the CSV.

    Returns:
        (scene file, period) per row, in file order.

    Raises:
        MinegeoInputError: for a missing column, an empty cell, a missing file, a period
            that does not parse or a file listed twice, naming the line.
    """
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        if not {"path", "period"} <= set(header):
            raise MinegeoInputError(
                f"{path}: header {reader.fieldnames} lacks path,period; expected path,period"
            )
        reader.fieldnames = header
        rows = []
        for row in reader:
            rows.append(_csv_row(path, reader.line_num, row))
    if not rows:
        raise MinegeoInputError(f"{path}: no rows; expected one path,period row per scene")
    seen: dict[Path, int] = {}
    for index, (scene, _) in enumerate(rows):
        if scene.resolve() in seen:
            raise MinegeoInputError(f"{path}: {scene} is listed twice; expected each scene once")
        seen[scene.resolve()] = index
    return rows


def _csv_row(path: Path, line: int, row: dict[str, str]) -> tuple[Path, Period]:
    text, label = (row.get("path") or "").strip(), (row.get("period") or "").strip()
    if not text or not label:
        raise MinegeoInputError(f"{path}, line {line}: empty path or period; expected path,period")
    scene = Path(text) if Path(text).is_absolute() else path.parent / text
    if not scene.is_file():
        raise MinegeoInputError(f"{path}, line {line}: {scene} not found; expected a GeoTIFF")
    try:
        return scene, parse_period(label)
    except MinegeoInputError as error:
        raise MinegeoInputError(f"{path}, line {line}: {error}") from None
