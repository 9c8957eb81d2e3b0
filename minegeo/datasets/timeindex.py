"""TorchGeo index times from periods, so the periods of one place never mix in a sample.

TorchGeo keeps a closed time interval per index row; samplers yield a row's interval
and datasets return only the files (or features) whose interval meets it. Scenes named
``<place>.<period>.tif`` and labels with a ``period`` column get their period's dates;
everything else is valid at all times, as TorchGeo's own default.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from minegeo.periods import Period, parse_period

__all__ = ["ALL_TIME", "interval_of", "label_intervals", "time_index"]

#: The interval of an index row that holds at every time.
ALL_TIME = pd.Interval(pd.Timestamp.min, pd.Timestamp.max, closed="both")


def interval_of(period: Period | None) -> pd.Interval:
    """The dates a period covers, as a closed interval ending just before ``end``; all time for None."""
    if period is None:
        return ALL_TIME
    end = pd.Timestamp(period.end) - pd.Timedelta(1, "us")
    return pd.Interval(pd.Timestamp(period.start), end, closed="both")


def label_intervals(periods: Iterable[str | None]) -> pd.IntervalIndex:
    """The dates of label rows with these ``period`` values (null: all time)."""
    return time_index(interval_of(None if pd.isna(value) else parse_period(value)) for value in periods)


def time_index(intervals: Iterable[pd.Interval]) -> pd.IntervalIndex:
    """TorchGeo's ``datetime`` index of these intervals."""
    return pd.IntervalIndex(list(intervals), closed="both", name="datetime")
