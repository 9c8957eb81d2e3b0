"""existing_file: a path that is a file comes back as a Path; anything else is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from minegeo.errors import MinegeoInputError, existing_file


def test_a_file_comes_back_as_a_path(tmp_path: Path) -> None:
    (tmp_path / "split.csv").write_text("split\n")
    assert existing_file(str(tmp_path / "split.csv")) == tmp_path / "split.csv"


@pytest.mark.parametrize("name", ["missing.csv", "folder"])
def test_a_missing_file_or_a_folder_is_one_line_naming_it(tmp_path: Path, name: str) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(MinegeoInputError, match=rf"^{tmp_path / name}: split file not found$"):
        existing_file(tmp_path / name, "split file")
