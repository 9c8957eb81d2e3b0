"""Per-band normalisation statistics, streamed over the train split with nodata skipped.

Means and variances are merged batch by batch in float64 (Chan et al.'s parallel form of
Welford's update), so reflectances near 0.1 summed over millions of pixels stay exact and
nothing is held in memory but three numbers per band.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from torch import Tensor

from minegeo.errors import MinegeoInputError, existing_file
from minegeo.io import atomic_path

#: smallest standard deviation returned, so a constant band does not divide by zero
MIN_STD = 1e-6


def band_statistics(
    samples: Iterable[Tensor | np.ndarray], num_bands: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation per band over all valid (finite) pixels.

    Args:
        samples: images of shape (C, H, W) or batches (B, C, H, W) with ``C == num_bands``;
            NaN or infinite values are nodata and skipped band by band.
        num_bands: number of bands.

    Returns:
        (mean, std) per band; std is the population standard deviation, at least
        :data:`MIN_STD`.

    Raises:
        MinegeoInputError: if a sample has the wrong number of bands, or a band has no
            valid pixel at all.
    """
    count = np.zeros(num_bands)
    mean = np.zeros(num_bands)
    m2 = np.zeros(num_bands)
    for sample in samples:
        values = _band_rows(sample, num_bands)
        valid = np.isfinite(values)
        n = valid.sum(axis=1).astype(np.float64)
        if not n.any():
            continue
        filled = np.where(valid, values, 0.0)
        batch_mean = filled.sum(axis=1) / np.maximum(n, 1)
        batch_m2 = (np.where(valid, values - batch_mean[:, None], 0.0) ** 2).sum(axis=1)
        total = count + n
        delta = batch_mean - mean
        mean = mean + delta * np.divide(n, total, out=np.zeros(num_bands), where=total > 0)
        m2 = m2 + batch_m2 + delta**2 * np.divide(count * n, total, out=np.zeros(num_bands), where=total > 0)
        count = total
    empty = [band for band in range(num_bands) if count[band] == 0]
    if empty:
        raise MinegeoInputError(
            f"bands {[band + 1 for band in empty]} (1-based) have no valid pixel in the train "
            "split; expected at least one finite value per band"
        )
    std = np.maximum(np.sqrt(m2 / count), MIN_STD)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _band_rows(sample: Tensor | np.ndarray, num_bands: int) -> np.ndarray:
    """A (C, H, W) or (B, C, H, W) sample as float64 rows of shape (C, pixels)."""
    array = sample.detach().cpu().numpy() if isinstance(sample, Tensor) else np.asarray(sample)
    if array.ndim not in (3, 4) or array.shape[-3] != num_bands:
        raise MinegeoInputError(
            f"sample of shape {tuple(array.shape)}; expected (C, H, W) or (B, C, H, W) with C={num_bands}"
        )
    if array.ndim == 4:
        array = np.moveaxis(array, 1, 0)
    return array.reshape(num_bands, -1).astype(np.float64)


def save_stats(path: str | Path, bands: Sequence[str], mean: Sequence[float], std: Sequence[float]) -> None:
    """Write band statistics as JSON (``bands``, ``mean``, ``std``), atomically.

    Args:
        path: the JSON file to write.
        bands: band names, in order.
        mean: mean reflectance per band.
        std: standard deviation per band.
    """
    if not len(bands) == len(mean) == len(std):
        raise ValueError(f"{len(bands)} bands but {len(mean)} means and {len(std)} stds")
    data = {"bands": list(bands), "mean": [float(v) for v in mean], "std": [float(v) for v in std]}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def load_stats(path: str | Path) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """Read band statistics written by :func:`save_stats`.

    Returns:
        (bands, mean, std).

    Raises:
        MinegeoInputError: if the file is missing, not JSON, or its lists disagree.
    """
    path = existing_file(path, "statistics file")
    try:
        data = json.loads(path.read_text())
        bands, mean, std = tuple(data["bands"]), tuple(data["mean"]), tuple(data["std"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise MinegeoInputError(f"{path}: expected JSON with 'bands', 'mean' and 'std' lists") from error
    if not len(bands) == len(mean) == len(std):
        raise MinegeoInputError(f"{path}: {len(bands)} bands but {len(mean)} means and {len(std)} stds")
    return bands, tuple(float(v) for v in mean), tuple(float(v) for v in std)
