"""The background of a scene: relief, forest and pasture, crop fields, a river, clouds.

Textures are 1/f noise (natural surfaces look alike at every scale), made with one FFT
per field so a 2000 px scene costs a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage

from minegeo.world.spectra import MATERIALS, band, material

#: Sun azimuth (radians, clockwise from north) for hill and bench shading: a dry-season
#: morning overpass over Minas Gerais.
SUN_AZIMUTH = np.deg2rad(50.0)


@dataclass
class Canvas:
    """What a scene is painted on before it becomes reflectance.

    Attributes:
        fractions: (M, H, W) material fractions, summing to 1 per pixel.
        shade: (H, W) brightness factor (relief, bench shadows).
        owner: (H, W) 1 + index of the feature painted there, 0 for background.
        river: (H, W) distance to the river's centre line, in pixels.
        river_line: (N, 2) row, column of the river's centre line.
    """

    fractions: np.ndarray
    shade: np.ndarray
    owner: np.ndarray
    river: np.ndarray
    river_line: np.ndarray


def fractal_noise(
    rng: np.random.Generator, shape: tuple[int, int], beta: float, coarse: int = 1
) -> np.ndarray:
    """Zero-mean, unit-variance noise whose power falls as 1/f**beta.

    Args:
        rng: random generator.
        shape: (H, W).
        beta: spectral slope; about 2 is grainy, 3 and more is smooth relief.
        coarse: made on a grid this many times coarser, then interpolated (smooth
            fields lose nothing and cost 1/coarse**2).

    Returns:
        (H, W) float32 field.
    """
    small = (-(-shape[0] // coarse), -(-shape[1] // coarse))
    spectrum = scipy.fft.rfft2(rng.standard_normal(small, dtype=np.float32))
    fy = np.fft.fftfreq(small[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(small[1]).astype(np.float32)[None, :]
    freq = np.hypot(fy, fx)
    freq[0, 0] = np.inf
    field = scipy.fft.irfft2(spectrum * freq ** np.float32(-beta / 2), s=small)
    if coarse > 1:
        field = ndimage.zoom(field, coarse, order=1, grid_mode=True, mode="grid-wrap")[: shape[0], : shape[1]]
    return ((field - field.mean()) / field.std()).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def paint_background(rng: np.random.Generator, shape: tuple[int, int]) -> Canvas:
    """Relief-driven forest and pasture with bare-soil scars, crop fields and a river.

    Args:
        rng: random generator.
        shape: (H, W) in pixels.

    Returns:
        the canvas, with nothing owned yet.
    """
    relief = fractal_noise(rng, shape, 3.2, coarse=2)
    forest = _sigmoid((relief - 0.35) / 0.12)
    dry = _sigmoid(fractal_noise(rng, shape, 2.6, coarse=2) / 0.4)
    scars = _sigmoid((fractal_noise(rng, shape, 2.2) - 2.3) / 0.12)
    fractions = np.zeros((len(MATERIALS), *shape), np.float32)
    open_land = (1 - forest) * (1 - scars)
    fractions[material("forest")] = forest
    fractions[material("bare_soil")] = (1 - forest) * scars
    fractions[material("pasture")] = open_land * (1 - dry)
    fractions[material("dry_grass")] = open_land * dry
    _paint_fields(rng, fractions, open_land)
    shade = 1 + 0.035 * fractal_noise(rng, shape, 2.0) + 0.06 * _hillshade(relief)
    river, line = _river(rng, shape)
    canvas = Canvas(fractions, shade.astype(np.float32), np.zeros(shape, np.int32), river, line)
    _paint_river(rng, canvas)
    return canvas


def _hillshade(relief: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(ndimage.gaussian_filter(relief, 2.0))
    lit = -(gx * np.sin(SUN_AZIMUTH) - gy * np.cos(SUN_AZIMUTH))
    return lit / (lit.std() + 1e-6)


def _paint_fields(rng: np.random.Generator, fractions: np.ndarray, open_land: np.ndarray) -> None:
    """Rectangular parcels of crops, ploughed soil and grass on a rotated cadastral grid."""
    height, width = open_land.shape
    angle = rng.uniform(0, np.pi / 2)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    u = cols * np.cos(angle) + rows * np.sin(angle)
    v = -cols * np.sin(angle) + rows * np.cos(angle)
    strip = np.floor(u / rng.uniform(40, 70)).astype(np.int64)
    shift = rng.uniform(0, 1, 4096)[strip % 4096]
    parcel = strip * 7919 + np.floor(v / rng.uniform(25, 45) + shift).astype(np.int64)
    choice = rng.choice(4, size=4096, p=[0.45, 0.25, 0.15, 0.15])[parcel % 4096]
    zone = _sigmoid(fractal_noise(rng, open_land.shape, 3.0, coarse=4) / 0.3) * open_land * 0.9
    fractions *= 1 - zone
    for index, name in enumerate(("keep", "crop", "bare_soil", "dry_grass")):
        share = zone * (choice == index)
        if name == "keep":
            fractions[material("pasture")] += share
        else:
            fractions[material(name)] += share


def _river(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A meandering centre line from the left edge to the right, and the distance to it."""
    height, width = shape
    steps = 3 * width
    # Meanders: a swing whose period wanders, plus a slow random drift of the valley.
    wander = np.cumsum(rng.normal(0, 0.05, steps))
    swing = np.cumsum(0.02 * np.exp(0.4 * np.tanh(wander / 4)))
    amplitude = 0.6 + 0.3 * np.tanh(np.cumsum(rng.normal(0, 0.05, steps)) / 4)
    drift = 0.35 * np.tanh(np.cumsum(rng.normal(0, 0.04, steps)) / 3)
    heading = amplitude * np.sin(swing + rng.uniform(0, 6)) + drift
    cols = np.cumsum(np.cos(heading))
    rows = rng.uniform(0.25, 0.75) * height + np.cumsum(np.sin(heading))
    keep = (cols < width) & (rows >= 0) & (rows < height)
    line = np.stack([rows[keep], cols[keep]], axis=1)
    centre = np.ones(shape, bool)
    centre[line[:, 0].astype(int), line[:, 1].astype(int)] = False
    return ndimage.distance_transform_edt(centre).astype(np.float32), line


def _paint_river(rng: np.random.Generator, canvas: Canvas) -> None:
    half_width = 1.5 + 1.5 * (1 + fractal_noise(rng, canvas.river.shape, 3.5, coarse=4).clip(-1, 1))
    water = np.clip(half_width + 0.5 - canvas.river, 0, 1)
    riparian = np.clip(half_width + 7 - canvas.river, 0, 1) * (1 - water)
    fractions = canvas.fractions
    fractions *= 1 - water - 0.7 * riparian
    fractions[material("turbid_water")] += water
    fractions[material("forest")] += 0.7 * riparian


def add_atmosphere(rng: np.random.Generator, bands: np.ndarray) -> None:
    """Aerosol haze (B1, B2), water vapour (B9) and thin cirrus (B10), in place."""
    shape = bands.shape[1:]
    haze = 0.5 + 0.5 * np.tanh(fractal_noise(rng, shape, 3.6, coarse=4))
    bands[band("B1")] += 0.012 * haze
    bands[band("B2")] += 0.006 * haze
    bands[band("B9")] *= 1 + 0.06 * fractal_noise(rng, shape, 3.6, coarse=4)
    bands[band("B10")] += 0.004 * np.maximum(fractal_noise(rng, shape, 3.4, coarse=4), 0)


def cloud_holes(
    rng: np.random.Generator, shape: tuple[int, int], share: float, protect: np.ndarray
) -> np.ndarray:
    """Blob-shaped pixels the composite has no clear view of (a few %).

    Args:
        rng: random generator.
        shape: (H, W).
        share: share of pixels drawn as holes, before those near features are dropped.
        protect: (H, W) bool, where holes must not fall (mapped features stay visible).

    Returns:
        (H, W) bool mask of the holes.
    """
    field = fractal_noise(rng, shape, 2.9)
    holes = field > np.quantile(field, 1 - share)
    blobs, _ = ndimage.label(holes)
    touched = np.unique(blobs[ndimage.binary_dilation(protect, iterations=3)])
    return holes & ~np.isin(blobs, touched[touched > 0])
