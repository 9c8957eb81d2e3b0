"""Tests for the evaluate settings: typed, checked once, one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from minegeo.errors import MinegeoInputError
from minegeo.evaluation.settings import load_settings


def test_defaults_and_out_default_to_the_maps_folder() -> None:
    settings = load_settings({"maps": "maps", "truth": "truth"})
    assert settings.threshold == 0.5 and settings.mask_classes == {1: "tailings_dam"}
    assert settings.out_dir == Path("maps")


@pytest.mark.parametrize("value", [0.0, 1.0, 1.5, -0.1])
def test_threshold_outside_zero_one_is_refused(value: float) -> None:
    with pytest.raises(MinegeoInputError, match=rf"threshold={value}: expected a number in \(0, 1\)"):
        load_settings({"maps": "m", "truth": "t", "threshold": value})


def test_threshold_of_the_wrong_type_names_the_key() -> None:
    with pytest.raises(MinegeoInputError, match=r"threshold=high: expected a number in \(0, 1\)"):
        load_settings({"maps": "m", "truth": "t", "threshold": "high"})


def test_unknown_key_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match="thresold: not an evaluate setting"):
        load_settings({"maps": "m", "truth": "t", "thresold": 0.5})


def test_missing_maps_is_named() -> None:
    with pytest.raises(MinegeoInputError, match="maps is missing"):
        load_settings({"truth": "t"})


def test_mask_value_255_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match="mask_values="):
        load_settings({"maps": "m", "truth": "t", "mask_values": {255: "tailings_dam"}})
