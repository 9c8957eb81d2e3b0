"""Reference masks on any grid: a folder of ``mask/mask_N.tif`` beside ``img_N`` (tailings_seg).

Mask values map to classes through ``mask_values`` (default ``{1: tailings_dam}``);
``IGNORE_INDEX`` (255) and the mask's nodata are ignored; every other value is background. Maps are
resampled onto the mask's grid, so masks and maps may differ in CRS and resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from rasterio.errors import RasterioError

from minegeo import IGNORE_INDEX
from minegeo.datasets.raster import open_raster
from minegeo.errors import MinegeoInputError
from minegeo.evaluation.grid import Grid, covering_window
from minegeo.evaluation.maps import ProbabilityMap
from minegeo.evaluation.reference import Reference, ScenePair, scored_classes

#: map stems ``img_N`` whose masks are named ``mask_N``
_IMAGE_PREFIX, _MASK_PREFIX = "img_", "mask_"


class MaskFolder:
    """A folder of masks, one per map.

    Args:
        folder: holds ``mask/mask_N.tif`` for ``img_N.prob.tif``, or ``<stem>.tif`` or
            ``mask/<stem>.tif`` for ``<stem>.prob.tif``.
        mask_values: mask value -> class name.
    """

    def __init__(self, folder: Path, mask_values: Mapping[int, str]) -> None:
        self.folder = folder
        self.mask_values = dict(mask_values)
        self.classes = scored_classes(list(self.mask_values.values()))
        if not self.classes:
            raise MinegeoInputError(
                f"mask_values={self.mask_values}: no class to score; expected one besides background"
            )

    def find(self, prob_map: ProbabilityMap) -> Path | None:
        """The mask of a map, or None."""
        stem = prob_map.stem
        names = [f"mask/{stem}.tif", f"{stem}.tif"]
        if stem.startswith(_IMAGE_PREFIX):
            names.insert(0, f"mask/{_MASK_PREFIX}{stem[len(_IMAGE_PREFIX) :]}.tif")
        return next((self.folder / name for name in names if (self.folder / name).is_file()), None)

    def pair(self, maps: list[ProbabilityMap]) -> tuple[list[ScenePair], list[Path]]:
        """The maps with their mask, and the maps without one."""
        found = [(prob_map, self.find(prob_map)) for prob_map in maps]
        pairs = [ScenePair(prob_map, mask) for prob_map, mask in found if mask is not None]
        return pairs, [prob_map.path for prob_map, mask in found if mask is None]

    def check(self, pair: ScenePair) -> None:
        """Refuse a mask that is unreadable, has no CRS, or does not overlap its map.

        Raises:
            MinegeoInputError: naming the mask (and the map).
        """
        pair.prob_map.require(self.classes, "mask_values")
        with open_raster(pair.truth, "GeoTIFF mask") as src:
            grid = Grid.of(src)
        if grid.crs is None:
            raise MinegeoInputError(f"{pair.truth}: no CRS; expected a georeferenced mask")
        if covering_window(pair.prob_map.grid, grid) is None:
            raise MinegeoInputError(
                f"{pair.prob_map.path}: does not overlap its mask {pair.truth}; expected the same place"
            )

    def load(self, pair: ScenePair) -> Reference:
        """The mask's classes on its own grid; 255 and nodata are not valid."""
        with open_raster(pair.truth, "GeoTIFF mask") as src:
            try:
                mask, nodata, grid = src.read(1), src.nodata, Grid.of(src)
            except RasterioError as error:
                raise MinegeoInputError(f"{pair.truth}: not a readable GeoTIFF mask ({error})") from error
        valid = mask != IGNORE_INDEX
        if nodata is not None and not np.isnan(nodata):
            valid &= mask != nodata
        truth = {name: np.zeros(mask.shape, dtype=bool) for name in self.classes}
        for value, name in self.mask_values.items():
            if name in truth:
                truth[name] |= mask == value
        return Reference(grid, truth, valid)
