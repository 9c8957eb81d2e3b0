"""Where the training patches are cut: on mines and dams, on look-alikes, at random.

Every patch is cloud-free, as the paper's were. A patch of the negative classes
(``not_mine``, ``no_ore``) never holds a pixel of a mine or a dam; a third of them are
centred on look-alikes (the hard negatives the paper reports), the rest at random,
spread apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minegeo.world.features import JITTER
from minegeo.world.scene import Scene

#: Discovery patch side in pixels (the paper's FCN input).
DISCOVERY_PX = 201
#: Ore-type patch side in pixels (the paper's impact CNN input).
ORETYPE_PX = 21


@dataclass(frozen=True)
class PatchSpot:
    """A patch to cut: its class folder, file id and centre pixel in its scene."""

    cls: str
    id: str
    row: int
    col: int


def clear_centres(scene: Scene, size: int) -> np.ndarray:
    """(H, W) bool: centres whose ``size`` window is inside the scene, mine-free and clear."""
    return _window_sums(scene.mined() | np.isnan(scene.bands[1]), size) == 0


def _window_sums(mask: np.ndarray, size: int) -> np.ndarray:
    """Count of ``mask`` pixels in the window centred on each pixel; -1 where it leaves the scene."""
    table = np.pad(mask.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    height, width = mask.shape
    half = size // 2
    sums = np.full((height, width), -1, np.int64)
    inner = table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]
    sums[half : height - half, half : width - half] = inner
    return sums


def on_mines(rng: np.random.Generator, scene: Scene, kinds: tuple[str, ...]) -> list[PatchSpot]:
    """One ``mine`` discovery patch per mine and dam, centred with a little jitter."""
    spots = []
    for feature in scene.features:
        if feature.kind in kinds:
            dy, dx = rng.uniform(-JITTER, JITTER, 2)
            spots.append(PatchSpot("mine", feature.id, round(feature.row + dy), round(feature.col + dx)))
    return spots


def on_ore(rng: np.random.Generator, scene: Scene, per_mine: int) -> list[PatchSpot]:
    """``per_mine`` ore-type patches inside each mine's pit, named after its ore type."""
    spots = []
    for feature in scene.features:
        if feature.kind != "mine" or feature.ore_type is None:
            continue
        offsets = rng.uniform(-0.3, 0.3, (per_mine, 2)) * feature.shape["r"]
        for k, (dy, dx) in enumerate(offsets, start=1):
            spots.append(
                PatchSpot(
                    feature.ore_type, f"{feature.id}-{k}", round(feature.row + dy), round(feature.col + dx)
                )
            )
    return spots


def negatives(
    rng: np.random.Generator, scene: Scene, cls: str, size: int, count: int, first_id: int
) -> list[PatchSpot]:
    """``count`` mine-free patches: a third on look-alikes, the rest at random.

    Args:
        rng: random generator.
        scene: the scene to cut from.
        cls: class folder (``not_mine`` or ``no_ore``).
        size: patch side in pixels.
        count: patches wanted (fewer if the scene has no room).
        first_id: world-wide number of the first random patch (``r0001``...).

    Returns:
        the patch spots.
    """
    clear = clear_centres(scene, size)
    spots = _on_lookalikes(rng, scene, clear, cls, (count + 2) // 3)
    taken = [(s.row, s.col) for s in spots]
    rows, cols = np.nonzero(clear)
    number = first_id
    for index in rng.permutation(len(rows))[: 50 * count]:
        if len(spots) == count:
            break
        row, col = int(rows[index]), int(cols[index])
        if all(np.hypot(row - r, col - c) > size / 2 for r, c in taken):
            spots.append(PatchSpot(cls, f"r{number:04d}", row, col))
            taken.append((row, col))
            number += 1
    return spots


def _on_lookalikes(
    rng: np.random.Generator, scene: Scene, clear: np.ndarray, cls: str, count: int
) -> list[PatchSpot]:
    """Patches on look-alikes: the clear centre nearest to each (jittered) look-alike."""
    spots = []
    lookalikes = [f for f in scene.features if f.kind not in ("mine", "tailings_dam")]
    for feature in [lookalikes[i] for i in rng.permutation(len(lookalikes))][:count]:
        target = np.array([feature.row, feature.col]) + rng.uniform(-JITTER, JITTER, 2)
        r0, c0 = np.maximum(np.rint(target).astype(int) - 3 * JITTER, 0)
        near = clear[r0 : r0 + 6 * JITTER + 1, c0 : c0 + 6 * JITTER + 1]
        rows, cols = np.nonzero(near)
        if len(rows) == 0:
            continue
        best = np.argmin(np.hypot(rows + r0 - target[0], cols + c0 - target[1]))
        spots.append(PatchSpot(cls, feature.id, int(rows[best] + r0), int(cols[best] + c0)))
    return spots
