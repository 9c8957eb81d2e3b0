"""``python -m minegeo.export``: the Hydra entry point, run as users run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: Runs the entry point with ``ee`` made unimportable, so a dry run that imported it would fail.
RUN_WITHOUT_EE = (
    "import runpy, sys; sys.modules['ee'] = None; sys.argv = ['minegeo.export', *sys.argv[1:]]; "
    "runpy.run_module('minegeo.export', run_name='__main__')"
)


def export(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", RUN_WITHOUT_EE, *overrides]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)


@pytest.fixture
def points(tmp_path: Path) -> Path:
    path = tmp_path / "registered_dams.csv"
    path.write_text("id,lat,lon,class\n1,-20.1,-43.9,mine\n2,-20.3,-43.7,mine\n")
    return path


def test_dry_run_plans_offline_and_prints_totals(tmp_path: Path, points: Path) -> None:
    result = export(tmp_path, f"points={points.name}", "dry_run=true", "out=plan")
    assert result.returncode == 0, result.stderr
    assert "tasks: 4 (2 patch mine, 2 patch not_mine)" in result.stdout
    assert (tmp_path / "plan" / "manifest.csv").is_file()


def test_no_saved_config_holds_a_secret(tmp_path: Path, points: Path) -> None:
    secret = "-----BEGIN PRIVATE KEY-----MIIEv"
    result = export(
        tmp_path, f"points={points.name}", "dry_run=true", "out=plan", f"auth.service_account_key='{secret}'"
    )
    assert result.returncode == 0, result.stderr
    files = [p for p in (tmp_path / "plan").rglob("*") if p.is_file()]
    assert files and not any("PRIVATE" in p.read_text() for p in files)
    assert not (tmp_path / "plan" / ".hydra").exists()


def test_bad_input_exits_with_one_line(tmp_path: Path) -> None:
    result = export(tmp_path, "points=missing.csv", "dry_run=true", "out=plan")
    assert result.returncode == 1  # the convention of every entry point (minegeo.errors)
    assert result.stderr.strip().splitlines() == [
        "error: missing.csv: file not found; expected a CSV, ANM's TSV or a vector file"
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("dtype=int8", "error: dtype=int8: expected one of float32, uint16"),
        ("collection.id=COPERNICUS/S2", "error: collection.id 'COPERNICUS/S2' has no band group; expected"),
    ],
)
def test_bad_dtype_or_collection_exits_with_one_line(
    tmp_path: Path, points: Path, override: str, message: str
) -> None:
    result = export(tmp_path, f"points={points.name}", "dry_run=true", "out=plan", override)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(message)
