"""Sample panels: shape, band choice, stretch and colours, without W&B."""

from __future__ import annotations

import numpy as np
import torch

from minegeo.bundle import Preprocessing
from minegeo.tasks.visualize import GAP, IGNORE_COLOUR, rgb_composite, sample_panel

PRE = Preprocessing(bands=("B2", "B3", "B4", "B8"), mean=(0.1, 0.1, 0.1, 0.3), std=(0.05, 0.05, 0.05, 0.1))


def test_panel_puts_input_truth_and_probability_side_by_side() -> None:
    image = torch.randn(4, 16, 16)
    target = torch.randint(0, 3, (16, 16))
    panel = sample_panel(image, PRE, target, torch.rand(16, 16))
    assert panel.shape == (16, 3 * 16 + 2 * GAP, 3)
    assert panel.dtype == np.uint8


def test_composite_is_red_from_b4() -> None:
    image = torch.zeros(4, 8, 8)
    image[2, :, 4:] = 3.0  # B4 bright on the right half only
    rgb = rgb_composite(image, PRE)
    assert rgb[0, 7, 0] == 255 and rgb[0, 0, 0] == 0
    assert rgb[..., 1].max() == 0 and rgb[..., 2].max() == 0


def test_composite_without_rgb_bands_is_grey_from_the_first_band() -> None:
    pre = Preprocessing(bands=("B8", "B11"), mean=(0.3, 0.2), std=(0.1, 0.1))
    image = torch.zeros(2, 4, 4)
    image[0, 0, 0] = 1.0
    rgb = rgb_composite(image, pre)
    assert np.array_equal(rgb[..., 0], rgb[..., 2])
    assert rgb[0, 0, 0] == 255


def test_ignored_truth_is_grey_and_black_in_the_composite() -> None:
    target = torch.zeros(8, 8, dtype=torch.long)
    target[0] = 255
    panel = sample_panel(torch.randn(4, 8, 8), PRE, target)
    truth = panel[:, 8 + GAP :]
    assert np.array_equal(truth[0, 0], IGNORE_COLOUR)
    assert panel[0, :8].max() == 0


def test_coarse_probability_is_blown_up_to_the_input_size() -> None:
    panel = sample_panel(torch.randn(4, 8, 8), PRE, probability=torch.tensor([[1.0]]))
    assert panel.shape == (8, 2 * 8 + GAP, 3)
    assert panel[:, 8 + GAP :].min() == 255
