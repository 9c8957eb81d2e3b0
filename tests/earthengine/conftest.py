"""Fixtures for the Earth Engine export tests: a recording fake ``ee`` and tiny configs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from minegeo.config import CONFIG_DIR
from tests.earthengine.fake_ee import FakeEE


@pytest.fixture
def fake_ee() -> FakeEE:
    """A fresh recording fake of the ``ee`` module."""
    return FakeEE()


@pytest.fixture
def centre_csv(tmp_path: Path) -> Path:
    """Three sites in the centre scheme, around Minas Gerais's Iron Quadrangle."""
    path = tmp_path / "sites.csv"
    path.write_text("id,lat,lon,class\n1,-20.1,-43.9,mine\n2,-20.3,-43.7,mine\n3,-19.9,-44.2,not_mine\n")
    return path


@pytest.fixture
def export_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """The real ``conf/export.yaml`` with a temporary ``out`` (extend with more overrides)."""

    def make(*overrides: str) -> DictConfig:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose("export", overrides=[f"out={tmp_path / 'out'}", *overrides])

    return make
