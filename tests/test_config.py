"""Tests for the Hydra helpers of minegeo.config."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch
from omegaconf import OmegaConf

from minegeo import BAND_GROUPS
from minegeo.config import CONFIG_DIR, fast_precision, load_structured, log_lightning_once
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


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(True, False, "bf16-mixed"), (False, True, "bf16-mixed"), (False, False, "32-true")],
)
def test_fast_precision_picks_bfloat16_only_where_the_cpu_computes_it(
    monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool, amx: bool, expected: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert fast_precision("cpu") == fast_precision("auto") == expected


def test_fast_precision_keeps_float32_on_other_accelerators_and_on_gpus_without_bfloat16(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert fast_precision("mps") == "32-true"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert fast_precision("auto") == fast_precision("gpu") == "32-true"
