"""Reading vector files (labels, registries) with one clear error per problem."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from minegeo.errors import MinegeoInputError


def read_vector(
    path: str | Path, layer: str | int | None = None, kind: str = "vector file"
) -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON, Shapefile or KML layer that must carry a CRS.

    Args:
        path: the file.
        layer: the layer to read (default: the first).
        kind: what the file is, for messages ("label file", ...).

    Returns:
        the features, in the file's CRS.

    Raises:
        MinegeoInputError: if the file is missing, unreadable, or has no CRS.
    """
    path = Path(path)
    if not path.exists():
        raise MinegeoInputError(f"{path}: {kind} not found")
    try:
        frame = gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as error:
        raise MinegeoInputError(f"{path}: not a readable vector file ({error})") from error
    if frame.crs is None:
        raise MinegeoInputError(f"{path}: no CRS; expected one such as EPSG:4326 or EPSG:4674")
    return frame
