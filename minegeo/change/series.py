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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from minegeo.errors import MinegeoInputError
from minegeo.periods import Period, parse_period, split_period

__all__ = [
    "SeriesMap",
    "TimeSeries",
    "check_series",
    "is_series_csv",
    "read_series_csv",
    "series_stems",
    "time_series",
    "wants_change",
]

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
        MinegeoInputError: for a name whose period does not parse beside names of the
            same place that do, or a place given the same period twice.
    """
    groups: dict[str, list[SeriesMap]] = defaultdict(list)
    odd: dict[str, Path] = {}
    for stem, prob, scene in maps:
        split = split_period(stem)
        if split is None:
            if _LOOKS_LIKE_PERIOD.search(stem):
                odd[stem] = Path(scene)
            continue
        place, label = split
        groups[place].append(SeriesMap(parse_period(label), stem, Path(prob), Path(scene)))
    # A name like `mosaic.2019_v2` is a plain scene, unless its place has periods.
    for stem, scene in odd.items():
        if stem.rpartition(".")[0] in groups:
            raise MinegeoInputError(
                f"{scene}: period {stem.rpartition('.')[2]!r} in its name is not valid; expected "
                "<place>.<period> with a year (2019), a quarter (2025Q1) or a range (20190601-20190901)"
            )
    series: list[TimeSeries] = []
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


def series_stems(path: str | Path) -> list[tuple[Path, str]]:
    """The scenes a ``path,period`` CSV lists, each named ``<place>.<period>``.

    A file already named ``<place>.<period>.tif`` keeps its name when the CSV gives it
    the same period; any other file is called ``<stem>.<period>``.

    Args:
        path: the CSV.

    Returns:
        (file, scene name) per row.

    Raises:
        MinegeoInputError: for a bad CSV (see :func:`read_series_csv`), or a file whose
            name holds another period than its row.
    """
    named = []
    for scene, period in read_series_csv(path):
        split = split_period(scene.stem)
        if split is not None and split[1] != period.label:
            raise MinegeoInputError(
                f"{path}: {scene.name} is named for period {split[1]} but listed as {period.label}; "
                "expected the same period"
            )
        named.append((scene, scene.stem if split else f"{scene.stem}.{period.label}"))
    return named


def wants_change(mode: bool | str, series: Sequence[TimeSeries]) -> bool:
    """Whether the stage runs: ``auto`` when a place has several periods; ``true`` / ``false`` force it.

    Raises:
        MinegeoInputError: for ``change=true`` when no scene name carries a period.
    """
    if mode is False:
        return False
    if mode is True and not series:
        raise MinegeoInputError(
            "change=true, but no scene is named <place>.<period> (such as scene_00.2019.tif); expected "
            "the names the export writes, or input=<CSV of path,period>"
        )
    return mode is True or any(len(place.maps) > 1 for place in series)


def check_series(stems: Sequence[str], mode: bool | str) -> bool:
    """Check the time series of a run's scene names before the scan; whether the stage will run.

    Args:
        stems: every scene's name.
        mode: predict's ``change`` (auto, True, False).

    Returns:
        whether the change stage runs after the scan.

    Raises:
        MinegeoInputError: for an unparseable period, a period given twice, ``change=true``
            without periods, or (when the stage runs) a place missing one of the run's periods.
    """
    series = time_series([(stem, Path(stem), Path(stem)) for stem in stems])
    if not wants_change(mode, series):
        return False
    every = sorted({period for place in series for period in place.periods})
    for place in series:
        missing = [period.label for period in every if period not in place.periods]
        if missing:
            raise MinegeoInputError(
                f"{place.place}: no scene for period {', '.join(missing)} (the run's periods are "
                f"{', '.join(p.label for p in every)}); expected every place at every period, or each "
                "place predicted on its own"
            )
    return True
