"""Painting single features: what a dam owns and what cleared ground beside it does not."""

from __future__ import annotations

import numpy as np
import pytest

from minegeo.world import features
from minegeo.world.landscape import Canvas
from minegeo.world.spectra import MATERIALS, material

SHAPE = (160, 160)


def _pasture() -> Canvas:
    fractions = np.zeros((len(MATERIALS), *SHAPE), np.float32)
    fractions[material("pasture")] = 1
    river = np.full(SHAPE, 1e3, np.float32)
    return Canvas(fractions, np.ones(SHAPE, np.float32), np.zeros(SHAPE, np.int32), river, np.zeros((0, 2)))


def _paint_dam(odds: float, seed: int, monkeypatch: pytest.MonkeyPatch) -> Canvas:
    monkeypatch.setattr(features, "CLEARED_GROUND_ODDS", odds)
    canvas = _pasture()
    dam = features.Feature("d0001", "tailings_dam", 80.0, 80.0, 26.0, {"r": 20.0}, "high_impact")
    features.paint_tailings_dam(np.random.default_rng(seed), canvas, dam, owner=1)
    return canvas


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cleared_ground_touches_a_dam_but_leaves_its_outline(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, cleared = _paint_dam(0.0, seed, monkeypatch), _paint_dam(1.0, seed, monkeypatch)
    np.testing.assert_array_equal(cleared.owner, plain.owner)
    bare = cleared.fractions[material("bare_soil")] > 0.5
    outside = bare & (cleared.owner == 0)
    assert outside.sum() > 100  # a patch of tens of pixels, not a speck
    # It touches the dam: some of it lies right beside an owned pixel.
    owned = cleared.owner > 0
    beside = np.zeros_like(owned)
    beside[1:] |= owned[:-1]
    beside[:-1] |= owned[1:]
    beside[:, 1:] |= owned[:, :-1]
    beside[:, :-1] |= owned[:, 1:]
    assert (outside & beside).any()
    assert not (plain.fractions[material("bare_soil")] > 0.5).any()
