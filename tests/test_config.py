"""Tests for the Hydra helpers of minegeo.config."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from omegaconf import OmegaConf

from minegeo import BAND_GROUPS
from minegeo.config import CONFIG_DIR, load_structured, log_lightning_once
from minegeo.errors import MinegeoInputError


@pytest.fixture
def lightning_handlers() -> Iterator[list[logging.Handler]]:
    """Lightning's own handlers, restored after the test."""
    import lightning  # noqa: F401

    saved = list(logging.getLogger("lightning").handlers)
    yield saved
    logging.getLogger("lightning").handlers[:] = saved


def test_lightning_lines_go_through_hydras_handlers_only(lightning_handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    hydra_console = logging.StreamHandler()
    root.addHandler(hydra_console)
    try:
        log_lightning_once()
    finally:
        root.removeHandler(hydra_console)

    assert lightning_handlers and logging.getLogger("lightning").handlers == []
    assert logging.getLogger("lightning").propagate  # its records still reach Hydra's handlers


@dataclass
class _Settings:
    threshold: float = 0.5


def test_load_structured_builds_the_dataclass() -> None:
    settings = load_structured(_Settings, {"threshold": 0.25}, "predict", lambda key: "a number")
    assert settings == _Settings(0.25)


def test_load_structured_returns_settings_already_built_as_they_are() -> None:
    built = _Settings(0.75)
    assert load_structured(_Settings, built, "predict", lambda key: "a number") is built


def test_a_wrong_type_is_one_line_naming_key_value_and_expectation() -> None:
    with pytest.raises(MinegeoInputError, match=r"^threshold=high: expected a number$"):
        load_structured(_Settings, {"threshold": "high"}, "predict", lambda key: "a number")


@pytest.mark.parametrize("group", sorted(BAND_GROUPS))
def test_each_bands_config_lists_its_band_group(group: str) -> None:
    node = OmegaConf.load(CONFIG_DIR / "bands" / f"{group}.yaml")
    assert tuple(node.bands) == BAND_GROUPS[group]


def test_every_bands_config_is_a_band_group() -> None:
    assert {path.stem for path in (CONFIG_DIR / "bands").glob("*.yaml")} == set(BAND_GROUPS)
