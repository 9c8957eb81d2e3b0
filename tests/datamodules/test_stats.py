"""Tests for minegeo.datamodules.stats: streaming band statistics and the stats file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from minegeo.datamodules.stats import MIN_STD, band_statistics, load_stats, save_stats
from minegeo.errors import MinegeoInputError


def test_statistics_match_numpy_over_all_pixels() -> None:
    rng = np.random.default_rng(0)
    images = [rng.normal(0.1 * (band + 1), 0.02, size=(3, 5, 5)) for band in range(4)]
    mean, std = band_statistics(images, num_bands=3)
    pixels = np.concatenate([image.reshape(3, -1) for image in images], axis=1)
    assert mean == pytest.approx(pixels.mean(axis=1))
    assert std == pytest.approx(pixels.std(axis=1))


def test_batches_and_single_images_agree() -> None:
    batch = torch.rand(4, 2, 3, 3)
    (batch_mean, batch_std), (image_mean, image_std) = band_statistics([batch], 2), band_statistics(batch, 2)
    assert batch_mean == pytest.approx(image_mean)
    assert batch_std == pytest.approx(image_std)


def test_nan_pixels_are_skipped_per_band() -> None:
    image = np.array([[[1.0, np.nan], [3.0, np.nan]], [[1.0, 2.0], [3.0, 4.0]]])
    mean, _ = band_statistics([image], num_bands=2)
    assert mean == pytest.approx((2.0, 2.5))


def test_large_offsets_stay_exact() -> None:
    images = [np.full((1, 100, 100), 1e4 + i % 2, dtype=np.float32) for i in range(50)]
    mean, std = band_statistics(images, num_bands=1)
    assert mean[0] == pytest.approx(1e4 + 0.5)
    assert std[0] == pytest.approx(0.5)


def test_constant_band_gets_the_floor_std() -> None:
    _, std = band_statistics([np.ones((1, 4, 4))], num_bands=1)
    assert std == (MIN_STD,)


def test_band_without_valid_pixel_is_an_error() -> None:
    image = np.stack([np.ones((2, 2)), np.full((2, 2), np.nan)])
    with pytest.raises(MinegeoInputError, match="bands \\[2\\] \\(1-based\\) have no valid pixel"):
        band_statistics([image], num_bands=2)


def test_wrong_band_count_is_an_error() -> None:
    with pytest.raises(MinegeoInputError, match="expected \\(C, H, W\\) or \\(B, C, H, W\\) with C=3"):
        band_statistics([np.ones((2, 4, 4))], num_bands=3)


def test_stats_file_round_trips(tmp_path: Path) -> None:
    save_stats(tmp_path / "stats.json", ["B2", "B3"], [0.1, 0.2], [0.01, 0.02])
    assert load_stats(tmp_path / "stats.json") == (("B2", "B3"), (0.1, 0.2), (0.01, 0.02))


def test_stats_file_with_mismatched_lists_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "stats.json").write_text('{"bands": ["B2"], "mean": [0.1, 0.2], "std": [0.1]}')
    with pytest.raises(MinegeoInputError, match="1 bands but 2 means"):
        load_stats(tmp_path / "stats.json")


def test_missing_stats_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="statistics file not found"):
        load_stats(tmp_path / "stats.json")
