"""Periods: years, quarters and date ranges; labels in file stems; bad values in one line."""

from __future__ import annotations

import datetime as dt

import pytest

from minegeo.errors import MinegeoInputError
from minegeo.periods import parse_period, parse_periods, split_period


def test_a_year_is_the_calendar_year() -> None:
    period = parse_period(2019)
    assert (period.label, period.start_text, period.end_text) == ("2019", "2019-01-01", "2020-01-01")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025Q1", "2025-01-01", "2025-04-01"),
        ("2025q3", "2025-07-01", "2025-10-01"),
        ("2025Q4", "2025-10-01", "2026-01-01"),
    ],
)
def test_a_quarter_is_three_months(text: str, start: str, end: str) -> None:
    period = parse_period(text)
    assert (period.label, period.start_text, period.end_text) == (text.upper(), start, end)


def test_a_date_range_is_labelled_by_its_days() -> None:
    period = parse_period("2019-06-01/2019-09-01")
    assert period.label == "20190601-20190901"
    assert (period.start, period.end) == (dt.date(2019, 6, 1), dt.date(2019, 9, 1))
    assert parse_period(period.label) == period


def test_periods_sort_by_start() -> None:
    assert [p.label for p in parse_periods(["2021", 2019, "2020"])] == ["2019", "2020", "2021"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2019Q5", r"period '2019Q5' is not valid; expected a year \(2019\), a quarter"),
        ("last year", r"period 'last year' is not valid"),
        ("2019-02-30/2019-03-01", r"period '2019-02-30/2019-03-01' names a day that does not exist"),
        ("2019-09-01/2019-06-01", r"ends before it starts"),
    ],
)
def test_bad_period_is_one_line(value: str, message: str) -> None:
    with pytest.raises(MinegeoInputError, match=message):
        parse_period(value)


def test_duplicate_periods_are_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"periods \['2019', '2020', '2019'\]: 2019 given twice"):
        parse_periods([2019, 2020, "2019"])


def test_empty_period_list_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"periods is empty"):
        parse_periods([])


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("scan_mg_r000_c001.2019", ("scan_mg_r000_c001", "2019")),
        ("mine_7.2025Q1", ("mine_7", "2025Q1")),
        ("a.b.20190601-20190901", ("a.b", "20190601-20190901")),
        ("scene_00", None),
        ("scene.tail", None),
    ],
)
def test_split_period_from_a_stem(stem: str, expected: tuple[str, str] | None) -> None:
    assert split_period(stem) == expected
