"""Periods of a time series: years, quarters, or explicit date ranges.

Export composites one per period (``minegeo.earthengine``), and predict's change stage
(``minegeo.change``) reads them back from file names; both use these.

A period has a label that names its files (``<place>.<period>.tif``) and a half-open
date range ``[start, end)`` its composite takes scenes from:

- ``2019``: the calendar year;
- ``2025Q1``: a quarter (January to March);
- ``2019-06-01/2019-09-01``: any range, labelled ``20190601-20190901``.

Labels hold letters, digits and ``-`` only, so the last ``.`` of a file stem always
separates the place from the period.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from minegeo.errors import MinegeoInputError

__all__ = ["PERIOD_LABEL", "Period", "parse_period", "parse_periods", "period_of_stem", "split_period"]

#: A period label as it appears in file names (the forms ``parse_period`` writes).
PERIOD_LABEL = re.compile(r"^(?:\d{4}|\d{4}Q[1-4]|\d{8}-\d{8})$")

_YEAR = re.compile(r"^\d{4}$")
_QUARTER = re.compile(r"^(?P<year>\d{4})[Qq](?P<quarter>[1-4])$")
_RANGE = re.compile(r"^(?P<start>\d{4}-\d{2}-\d{2})\s*/\s*(?P<end>\d{4}-\d{2}-\d{2})$")
_COMPACT_RANGE = re.compile(r"^(?P<start>\d{8})-(?P<end>\d{8})$")
_EXPECTED = "a year (2019), a quarter (2025Q1) or a date range (2019-06-01/2019-09-01)"


@dataclass(frozen=True, order=True)
class Period:
    """One period of a time series; periods sort by start date."""

    #: First day included.
    start: dt.date
    #: First day excluded.
    end: dt.date
    #: Name in files and tasks (``2019``, ``2025Q1``, ``20190601-20190901``).
    label: str

    @property
    def start_text(self) -> str:
        """``start`` as ``YYYY-MM-DD`` (what Earth Engine's ``filterDate`` takes)."""
        return self.start.isoformat()

    @property
    def end_text(self) -> str:
        """``end`` as ``YYYY-MM-DD``."""
        return self.end.isoformat()


def parse_period(value: object) -> Period:
    """Parse one period from its config or file-name form.

    Args:
        value: ``2019``, ``2025Q1``, ``2019-06-01/2019-09-01`` or its label
            ``20190601-20190901``.

    Returns:
        the period.

    Raises:
        MinegeoInputError: if the value is none of these forms, or its range is empty.
    """
    text = str(value).strip()
    if _YEAR.match(text):
        year = int(text)
        return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), text)
    if match := _QUARTER.match(text):
        year, quarter = int(match["year"]), int(match["quarter"])
        end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
        return Period(dt.date(year, 3 * quarter - 2, 1), end, f"{year}Q{quarter}")
    match = _RANGE.match(text) or _COMPACT_RANGE.match(text)
    if match is None:
        raise MinegeoInputError(f"period {text!r} is not valid; expected {_EXPECTED}")
    try:
        start, end = (dt.date.fromisoformat(match[key]) for key in ("start", "end"))
    except ValueError:
        raise MinegeoInputError(
            f"period {text!r} names a day that does not exist; expected {_EXPECTED}"
        ) from None
    if end <= start:
        raise MinegeoInputError(f"period {text!r} ends before it starts; expected start < end")
    return Period(start, end, f"{start:%Y%m%d}-{end:%Y%m%d}")


def parse_periods(values: Iterable[object]) -> list[Period]:
    """Parse a list of periods, refusing repeats; sorted by start date.

    Args:
        values: the config's ``periods``.

    Returns:
        the periods, earliest first.

    Raises:
        MinegeoInputError: for an invalid period, an empty list or a period given twice.
    """
    periods = [parse_period(value) for value in values]
    if not periods:
        raise MinegeoInputError(f"periods is empty; expected a list of periods such as {_EXPECTED}")
    labels = [period.label for period in periods]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise MinegeoInputError(f"periods {labels}: {', '.join(repeated)} given twice; expected each once")
    return sorted(periods)


def split_period(stem: str) -> tuple[str, str] | None:
    """Split a file stem ``<place>.<period>`` into (place, period label).

    Args:
        stem: a file name without its suffix.

    Returns:
        (place, label), or None when the stem carries no period.
    """
    place, dot, label = stem.rpartition(".")
    if not dot or not place or not PERIOD_LABEL.match(label):
        return None
    return place, label


def period_of_stem(stem: str) -> Period | None:
    """The period a file stem ``<place>.<period>`` names, or None when it names none."""
    parts = split_period(stem)
    return parse_period(parts[1]) if parts is not None else None
