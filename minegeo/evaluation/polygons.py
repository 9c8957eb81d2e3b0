"""Reference polygons (GPKG, GeoJSON, ...): one file for every map, rasterised on each map's grid.

The file is read once, through the project's vector reader (missing, unreadable or
CRS-less files are refused there). Each map's pixels get the class of the polygon they
fall in, the later class of the map's band order where polygons overlap (as training
masks burn a dam over the mine that holds it), background elsewhere. The reader of
training labels (``minegeo.datasets.labels``) is not used: it imports torch and
TorchGeo, seconds to tens of seconds, for what is a GeoPackage read here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio.features
from shapely.geometry import box

from minegeo.datasets.vector import read_vector
from minegeo.errors import MinegeoInputError
from minegeo.evaluation.maps import ProbabilityMap
from minegeo.evaluation.reference import Reference, ScenePair, scored_classes

log = logging.getLogger(__name__)

_AREAS = ("Polygon", "MultiPolygon")


class PolygonLabels:
    """Label polygons scored against every map.

    Args:
        path: the vector file.
        class_names: the maps' classes, in band order (a polygon of another class is refused).
        class_column: the attribute holding each feature's class.
        layer: the layer of a multi-layer file (None: the first).

    Raises:
        MinegeoInputError: for a missing or unreadable file, no CRS, no polygon, no class
            column, or a class the maps do not have.
    """

    def __init__(
        self, path: Path, class_names: Sequence[str], class_column: str = "class", layer: str | None = None
    ) -> None:
        self.path = path
        self.class_names = tuple(class_names)
        frame = read_vector(path, layer, kind="label file")
        if class_column not in frame.columns:
            columns = ", ".join(str(name) for name in frame.columns if name != frame.geometry.name)
            raise MinegeoInputError(
                f"{path}: no class column {class_column!r} (columns: {columns}); set class_column"
            )
        areas = frame.geometry.notna() & frame.geometry.geom_type.isin(_AREAS)
        if not areas.any():
            raise MinegeoInputError(f"{path}: no polygons; expected label polygons with a {class_column!r}")
        if not areas.all():
            log.warning("%s: %d features that are not polygons left out", path, int((~areas).sum()))
        self.labels = frame[areas].assign(class_name=frame.loc[areas, class_column].astype(str))
        unknown = sorted(set(self.labels["class_name"]) - set(self.class_names))
        if unknown:
            raise MinegeoInputError(
                f"{path}: class {', '.join(unknown)} in {class_column!r} is not a class of the maps; "
                f"expected one of {', '.join(self.class_names)}"
            )
        present = set(self.labels["class_name"])
        self.classes = scored_classes([name for name in self.class_names if name in present])

    def pair(self, maps: list[ProbabilityMap]) -> tuple[list[ScenePair], list[Path]]:
        """Every map, with the polygon file."""
        return [ScenePair(prob_map, self.path) for prob_map in maps], []

    def check(self, pair: ScenePair) -> None:
        """Refuse a map without the polygons' classes, or without a CRS to place them.

        Raises:
            MinegeoInputError: naming the map and the classes.
        """
        pair.prob_map.require(self.classes, str(self.path))
        if pair.prob_map.grid.crs is None:
            raise MinegeoInputError(f"{pair.prob_map.path}: no CRS; expected a georeferenced map")

    def load(self, pair: ScenePair) -> Reference:
        """The polygons burnt onto the map's grid; every pixel is valid (the map decides)."""
        grid = pair.prob_map.grid
        labels = self.labels.to_crs(grid.crs)
        labels = labels.iloc[labels.sindex.query(box(*grid.bounds))]
        # burnt in class order, so a later class covers an earlier one where they overlap
        order = {name: index for index, name in enumerate(self.class_names, start=1)}
        ranked = labels.assign(rank=labels["class_name"].map(order)).sort_values("rank", kind="stable")
        burnt = np.zeros(grid.shape, dtype=np.uint8)
        if len(ranked):
            shapes = zip(ranked.geometry, ranked["rank"].astype(int), strict=True)
            burnt = rasterio.features.rasterize(
                shapes, out_shape=grid.shape, transform=grid.transform, dtype=np.uint8
            )
        truth = {name: burnt == order[name] for name in self.classes}
        return Reference(grid, truth, np.ones(grid.shape, dtype=bool))
