"""Time series from scene names or a path,period CSV; bad names and lines in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minegeo.change.series import check_series, read_series_csv, series_stems, time_series
from minegeo.errors import MinegeoInputError


def maps(*stems: str) -> list[tuple[str, Path, Path]]:
    return [(stem, Path(f"{stem}.prob.tif"), Path(f"{stem}.tif")) for stem in stems]


def test_scenes_group_by_place_with_periods_sorted() -> None:
    series = time_series(maps("b.2021", "a.2020", "b.2019", "plain", "a.2019"))
    assert [(s.place, s.labels) for s in series] == [("a", ["2019", "2020"]), ("b", ["2019", "2021"])]


def test_quarters_and_ranges_are_periods() -> None:
    (series,) = time_series(maps("t.2025Q2", "t.2025Q1", "t.20250701-20250901"))
    assert series.labels == ["2025Q1", "2025Q2", "20250701-20250901"]


def test_an_unparseable_period_name_is_one_line() -> None:
    with pytest.raises(MinegeoInputError, match=r"a.2019Q5.tif: period '2019Q5' in its name is not valid"):
        time_series(maps("a.2019", "a.2019Q5"))


def test_a_lone_name_with_a_dot_is_a_plain_scene() -> None:
    assert time_series(maps("mosaic.2019_v2", "scene.tail")) == []


def test_the_same_period_twice_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"a: period 2019 is given twice"):
        time_series(maps("a.2019", "a.20190101-20200101") + maps("a.2019"))


def test_csv_lists_paths_and_periods(tmp_path: Path) -> None:
    for name in ("x.tif", "y.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "series.csv").write_text("path,period\nx.tif,2019\ny.tif,2020Q1\n")
    rows = read_series_csv(tmp_path / "series.csv")
    assert [(p.name, period.label) for p, period in rows] == [("x.tif", "2019"), ("y.tif", "2020Q1")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,when\nx.tif,2019\n", r"lacks path,period"),
        ("path,period\n", r"no rows"),
        ("path,period\nx.tif,\n", r"series.csv, line 2: empty path or period"),
        ("path,period\nmissing.tif,2019\n", r"series.csv, line 2: .*missing.tif not found"),
        ("path,period\nx.tif,19\n", r"series.csv, line 2: period '19' is not valid"),
        ("path,period\nx.tif,2019\nx.tif,2020\n", r"x.tif is listed twice"),
    ],
)
def test_bad_csv_lines_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.tif").write_bytes(b"")
    (tmp_path / "series.csv").write_text(text)
    with pytest.raises(MinegeoInputError, match=message):
        read_series_csv(tmp_path / "series.csv")


def test_csv_scenes_are_named_place_dot_period(tmp_path: Path) -> None:
    for name in ("a.tif", "b.2020.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "s.csv").write_text("path,period\na.tif,2019\nb.2020.tif,2020\n")
    assert [stem for _, stem in series_stems(tmp_path / "s.csv")] == ["a.2019", "b.2020"]


def test_a_csv_period_contradicting_the_file_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "b.2020.tif").write_bytes(b"")
    (tmp_path / "s.csv").write_text("path,period\nb.2020.tif,2021\n")
    with pytest.raises(MinegeoInputError, match=r"b.2020.tif is named for period 2020 but listed as 2021"):
        series_stems(tmp_path / "s.csv")


def test_check_series_says_whether_the_stage_runs() -> None:
    assert check_series(["a.2019", "a.2020", "b.2019", "b.2020"], "auto")
    assert not check_series(["a.2019", "b.2020", "plain"], "auto")
    assert not check_series(["a.2019", "a.2020"], False)


def test_a_place_missing_a_period_of_the_run_is_one_line() -> None:
    with pytest.raises(
        MinegeoInputError, match=r"b: no scene for period 2020 \(the run's periods are 2019, 2020\)"
    ):
        check_series(["a.2019", "a.2020", "b.2019"], "auto")


def test_the_light_modules_import_no_geopandas() -> None:
    code = "import sys, minegeo.change.series, minegeo.change.params; print('geopandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
