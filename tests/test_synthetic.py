"""The ``python -m minegeo.synthetic`` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_cli_writes_a_world_and_no_hydra_outputs(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "minegeo.synthetic", "out=world", "seed=3", "size=small"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "world" / "world.json").read_text())["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]


def test_cli_reports_a_bad_size_in_one_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "minegeo.synthetic", "out=world", "size=huge"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: synthetic world size='huge' is unknown; expected one of ['demo', 'large', 'small']"
    ]
