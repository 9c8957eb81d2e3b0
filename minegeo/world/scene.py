"""One scene: background, features, atmosphere, sensor, clouds; and how it is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from minegeo.world import features, landscape, spectra

#: Coordinate reference system of every raster (UTM 23S, the Iron Quadrangle's zone).
CRS = "EPSG:32723"
#: Pixel size in metres.
RESOLUTION = 10.0
#: GeoTIFF layout of an Earth Engine export: tiled, DEFLATE with the floating-point
#: predictor, NaN declared as nodata.
SCENE_PROFILE = {
    "driver": "GTiff",
    "dtype": "float32",
    "nodata": float("nan"),
    "crs": CRS,
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "deflate",
    "predictor": 3,
    "interleave": "band",
}


@dataclass
class Scene:
    """A generated scene.

    Attributes:
        stem: file name without suffix.
        bands: (13, H, W) float32 reflectance (`spectra.BANDS`), NaN in cloud holes.
        transform: pixel to UTM transform.
        features: mines and dams first, then look-alikes; ``owner`` value = index + 1.
        owner: (H, W) int32 map of which feature covers each pixel.
    """

    stem: str
    bands: np.ndarray
    transform: Affine
    features: list[features.Feature]

    owner: np.ndarray

    def mined(self) -> np.ndarray:
        """(H, W) bool: pixels of a mine or a tailings dam."""
        count = sum(f.kind in ("mine", "tailings_dam") for f in self.features)
        return (self.owner > 0) & (self.owner <= count)


@dataclass(frozen=True)
class SceneRecipe:
    """What to put in a scene (set by the world size)."""

    shape: tuple[int, int]
    mines: int
    dams: int
    lookalikes: tuple[str, ...]
    clouds: float = 0.045


def make_scene(
    rng: np.random.Generator,
    recipe: SceneRecipe,
    stem: str,
    origin: tuple[float, float],
    first_ids: tuple[int, int, int],
) -> Scene:
    """Paint, mix, shade and degrade one scene.

    Args:
        rng: random generator of this scene.
        recipe: shape and contents.
        stem: file name without suffix.
        origin: UTM (x, y) of the top-left corner, on the 60 m grid of the L1C tiles.
        first_ids: world-wide numbers of the scene's first mine, dam and look-alike.

    Returns:
        the scene.
    """
    canvas = landscape.paint_background(rng, recipe.shape)
    district = features.make_district(rng, recipe.shape)
    mines = features.place_mines_and_dams(rng, canvas, district, (recipe.mines, recipe.dams), first_ids[:2])
    kinds = list(recipe.lookalikes)
    lookalikes = features.place_lookalikes(rng, canvas, district, kinds, first_ids[2], mines)
    bands = render(rng, canvas, recipe.clouds, mines)
    return Scene(stem, bands, scene_transform(origin), [*mines, *lookalikes], canvas.owner)


def render(
    rng: np.random.Generator, canvas: landscape.Canvas, clouds: float, mines: list[features.Feature]
) -> np.ndarray:
    """Reflectance of a painted canvas: mixed, shaded, hazed, noised, quantised, clouded.

    Args:
        rng: random generator (atmosphere, noise and clouds are drawn from it).
        canvas: the painted canvas.
        clouds: share of pixels drawn as cloud holes.
        mines: the mines and dams, whose patch areas are kept clear.

    Returns:
        (13, H, W) float32 reflectance, NaN in cloud holes.
    """
    bands = spectra.mix(canvas.fractions) * canvas.shade
    landscape.add_atmosphere(rng, bands)
    bands += rng.standard_normal(bands.shape, dtype=np.float32) * np.float32(spectra.NOISE_SIGMA)
    bands = spectra.quantise(spectra.to_native_resolution(bands))
    shape = canvas.owner.shape
    holes = landscape.cloud_holes(rng, shape, clouds, canvas.owner > 0) & ~_mine_patch_areas(
        canvas.owner, mines
    )
    bands[:, holes] = np.nan
    return bands


def scene_transform(origin: tuple[float, float]) -> Affine:
    """Pixel to UTM transform of a scene whose top-left corner is ``origin``."""
    return Affine.translation(*origin) * Affine.scale(RESOLUTION, -RESOLUTION)


def _mine_patch_areas(owner: np.ndarray, mines: list[features.Feature]) -> np.ndarray:
    """(H, W) bool: where discovery patches of mines and dams will be cut.

    Patches are cut where the composite is clear (the paper's were); negatives are picked
    among clear windows, and these areas are kept clear, so nodata says nothing of the class.
    """
    areas = np.zeros(owner.shape, bool)
    reach = features.PATCH_MARGIN
    for mine in mines:
        row, col = int(mine.row), int(mine.col)
        areas[max(row - reach, 0) : row + reach + 1, max(col - reach, 0) : col + reach + 1] = True
    return areas


def write_raster(path: Path, bands: np.ndarray, transform: Affine, tiled: bool = True) -> None:
    """Write a reflectance array of the world's bands as an Earth Engine-like GeoTIFF.

    Args:
        path: output file.
        bands: (13, H, W) float32, in `spectra.BANDS` order.
        transform: pixel to CRS transform.
        tiled: 256 px tiles (scenes) or one strip per band (patches, smaller than a tile).
    """
    profile = {**SCENE_PROFILE, "count": bands.shape[0], "height": bands.shape[1], "width": bands.shape[2]}
    if not tiled:
        profile.update(tiled=False, blockysize=bands.shape[1])
        del profile["blockxsize"]
    with rasterio.open(path, "w", transform=transform, **profile) as dst:
        dst.write(bands)
        dst.descriptions = spectra.BANDS


def cut(scene: Scene, row: int, col: int, size: int) -> tuple[np.ndarray, Affine]:
    """The ``size`` px square centred on (row, col), and its transform."""
    half = size // 2
    window = Window(col - half, row - half, size, size)
    block = scene.bands[:, row - half : row - half + size, col - half : col - half + size]
    return block, rasterio.windows.transform(window, scene.transform)
