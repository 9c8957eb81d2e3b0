"""Tests for the paper's discovery FCN."""

from __future__ import annotations

from typing import Literal

import pytest
import torch

from minegeo.models import DiscoveryFCN


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_parameter_count_matches_paper(padding: Literal["same", "valid"]) -> None:
    assert _count(DiscoveryFCN(padding=padding)) == 259_810


def test_same_padding_gives_one_cell_per_201px_patch() -> None:
    out = DiscoveryFCN(padding="same").eval()(torch.zeros(2, 12, 201, 201))
    assert out.shape == (2, 2, 1, 1)


def test_valid_padding_gives_one_cell_per_215px_window() -> None:
    out = DiscoveryFCN(padding="valid").eval()(torch.zeros(1, 12, 215, 215))
    assert out.shape == (1, 2, 1, 1)


@pytest.mark.parametrize(("padding", "offset"), [("same", 94.5), ("valid", 107.5)])
def test_geometry(padding: Literal["same", "valid"], offset: float) -> None:
    geometry = DiscoveryFCN(padding=padding).geometry
    assert (geometry.output_stride, geometry.receptive_field, geometry.offset) == (27, 215, offset)


def test_valid_dense_pass_equals_every_window_at_stride_27() -> None:
    torch.manual_seed(0)
    model = DiscoveryFCN(padding="valid").eval().double()
    image = torch.randn(1, 12, 215 + 27 * 3, 215 + 27 * 2, dtype=torch.float64)
    dense = model(image)
    assert dense.shape[-2:] == (4, 3)
    for i in range(4):
        for j in range(3):
            window = image[..., 27 * i : 27 * i + 215, 27 * j : 27 * j + 215]
            torch.testing.assert_close(model(window)[..., 0, 0], dense[..., i, j], atol=1e-5, rtol=0)


def test_same_dense_cell_depends_only_on_its_receptive_field() -> None:
    """A dense "same" cell sees [27j - 13, 27j + 202): changing pixels outside leaves it."""
    torch.manual_seed(0)
    model = DiscoveryFCN(padding="same").eval().double()
    image = torch.randn(1, 12, 27 * 12, 27 * 12, dtype=torch.float64)
    before = model(image)[..., 4, 4]
    start, stop = 27 * 4 - 13, 27 * 4 + 202
    changed = torch.randn_like(image)
    changed[..., start:stop, start:stop] = image[..., start:stop, start:stop]
    torch.testing.assert_close(model(changed)[..., 4, 4], before, atol=1e-10, rtol=0)


def test_same_dense_pass_differs_from_lone_windows() -> None:
    """Documented limitation: lone 201 px windows see zero padding where the dense pass sees data."""
    torch.manual_seed(0)
    model = DiscoveryFCN(padding="same").eval().double()
    image = torch.randn(1, 12, 27 * 12, 27 * 12, dtype=torch.float64)
    dense = model(image)[..., 3, 3]
    window = model(image[..., 81 : 81 + 201, 81 : 81 + 201])[..., 0, 0]
    assert (dense - window).abs().max() > 1e-6
