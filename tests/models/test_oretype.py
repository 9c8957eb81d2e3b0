"""Tests for the paper's ore-type CNN."""

from __future__ import annotations

import torch

from minegeo.models import OreTypeCNN


def test_parameter_count_matches_paper() -> None:
    assert sum(p.numel() for p in OreTypeCNN().parameters()) == 2_373_219


def test_output_is_one_score_per_class_and_window() -> None:
    assert OreTypeCNN().eval()(torch.zeros(5, 12, 21, 21)).shape == (5, 3)


def test_geometry_is_one_window() -> None:
    geometry = OreTypeCNN().geometry
    assert (geometry.receptive_field, geometry.min_size, geometry.offset) == (21, 21, 10.5)
