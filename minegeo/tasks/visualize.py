"""Sample panels for W&B: what the model saw, the truth, and what it answered.

A panel is one uint8 (H, W', 3) array: an RGB composite of the input, then (when given)
the class map of the truth and the probability of one class, side by side with a white
gap. Nothing here imports W&B, so panels are testable on their own.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from minegeo import IGNORE_INDEX
from minegeo.bundle import Preprocessing

#: bands that make a natural-colour composite, red, green, blue
RGB_BANDS = ("B4", "B3", "B2")
#: colours of classes 0, 1, 2, ... (background black, mine orange, tailings dam cyan, ...)
CLASS_COLOURS = np.array(
    [[0, 0, 0], [255, 140, 0], [0, 200, 255], [200, 0, 200], [0, 200, 0], [255, 255, 0]], dtype=np.uint8
)
#: colour of ignored (nodata) target pixels
IGNORE_COLOUR = np.array([128, 128, 128], dtype=np.uint8)
#: pixels of white between the parts of a panel
GAP = 4


def rgb_composite(
    image: Tensor,
    preprocessing: Preprocessing,
    valid: Tensor | None = None,
    percentiles: tuple[float, float] = (2, 98),
) -> np.ndarray:
    """A viewable (H, W, 3) uint8 composite of one normalised (C, H, W) model input.

    Uses B4, B3, B2 when all three are among the bands, else the first band in grey. The
    bands are de-normalised to reflectance, then each is stretched between its
    percentiles over the valid pixels.

    Args:
        image: one sample as the model saw it.
        preprocessing: the normalisation that made ``image``.
        valid: (H, W) bool, pixels to base the stretch on; None for all.
        percentiles: low and high percentile of the linear stretch.

    Returns:
        the composite; invalid pixels are black.
    """
    bands = list(preprocessing.bands)
    picked = [bands.index(b) for b in RGB_BANDS] if set(RGB_BANDS) <= set(bands) else [0, 0, 0]
    mean = np.asarray(preprocessing.mean, dtype=np.float32)[picked, None, None]
    std = np.asarray(preprocessing.std, dtype=np.float32)[picked, None, None]
    reflectance = image.detach().float().cpu().numpy()[picked] * std + mean
    mask = (
        np.ones(reflectance.shape[1:], bool) if valid is None else valid.detach().cpu().numpy().astype(bool)
    )
    out = np.zeros(reflectance.shape, dtype=np.float32)
    if mask.any():
        for channel, values in enumerate(reflectance):
            low, high = np.percentile(values[mask], percentiles)
            out[channel] = (values - low) / max(float(high - low), 1e-6)
    out = np.clip(out, 0, 1) * mask
    return (out.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def class_map(target: Tensor, ignore_index: int | None = IGNORE_INDEX) -> np.ndarray:
    """(H, W, 3) uint8 colours of a (H, W) class-index map; ignored pixels grey."""
    classes = target.detach().cpu().numpy().astype(np.int64)
    ignored = np.zeros(classes.shape, bool) if ignore_index is None else classes == ignore_index
    rgb = CLASS_COLOURS[np.where(ignored, 0, classes) % len(CLASS_COLOURS)]
    rgb[ignored] = IGNORE_COLOUR
    return rgb


def probability_map(probability: Tensor) -> np.ndarray:
    """(H, W, 3) uint8 grey ramp of a (H, W) probability (black 0, white 1)."""
    grey = (probability.detach().float().cpu().numpy().clip(0, 1) * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def sample_panel(
    image: Tensor,
    preprocessing: Preprocessing,
    target: Tensor | None = None,
    probability: Tensor | None = None,
    ignore_index: int | None = IGNORE_INDEX,
) -> np.ndarray:
    """Input composite | truth | probability, as one uint8 (H, k*W + (k-1)*GAP, 3) array.

    Args:
        image: (C, H, W) normalised model input.
        preprocessing: the normalisation that made ``image``.
        target: (H, W) class indexes (``ignore_index`` for nodata), or None.
        probability: (H', W') probability of one class, or None; resized to (H, W) by
            repeating cells when the model's output is coarser.
        ignore_index: target value drawn grey and left out of the stretch; None for none.

    Returns:
        the panel.
    """
    valid = None if target is None or ignore_index is None else target != ignore_index
    parts = [rgb_composite(image, preprocessing, valid)]
    if target is not None:
        parts.append(class_map(target, ignore_index))
    if probability is not None:
        parts.append(_resize_nearest(probability_map(probability), parts[0].shape[:2]))
    gap = np.full((parts[0].shape[0], GAP, 3), 255, dtype=np.uint8)
    pieces: list[np.ndarray] = []
    for part in parts:
        pieces.extend([part, gap])
    return np.concatenate(pieces[:-1], axis=1)


def _resize_nearest(rgb: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    rows = np.arange(shape[0]) * rgb.shape[0] // shape[0]
    cols = np.arange(shape[1]) * rgb.shape[1] // shape[1]
    return rgb[rows][:, cols]
