"""Which scenes a predict run covers: files, folders, globs, and Earth Engine tiled exports.

Earth Engine splits a large export into ``<stem>-RRRRRRRRRR-CCCCCCCCCC.tif`` tiles; tiles
sharing a stem are one scene, mosaicked through a GDAL VRT written here (no
``gdalbuildvrt`` needed), so the output is one seamless ``<stem>.prob.tif``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from rasterio.windows import Window

from minegeo.bundle import Preprocessing
from minegeo.datasets.raster import match_bands, open_raster, pixel_size_m
from minegeo.errors import MinegeoInputError
from minegeo.inference.preflight import list_inputs

#: an Earth Engine export tile: stem, then 10-digit pixel row and column offsets
EE_TILE = re.compile(r"^(?P<stem>.+)-(?P<row>\d{10})-(?P<col>\d{10})$")
#: relative difference of pixel size tolerated between scene and checkpoint
RESOLUTION_TOLERANCE = 0.10


@dataclass(frozen=True)
class Scene:
    """One scene to predict: its name and the raster to read (a file or a mosaic VRT)."""

    stem: str
    path: Path
    #: the files behind it (one, or the tiles of a mosaic)
    sources: tuple[Path, ...]


def find_scenes(spec: str | Path, mosaic_dir: Path, mosaic: bool = True) -> list[Scene]:
    """Scenes named by a file, a folder (its ``*.tif``), a glob, or a CSV of ``path,period``, sorted by stem.

    A CSV's scenes are named ``<place>.<period>`` (``minegeo.change.series.series_stems``).

    Args:
        spec: the ``input`` a user gave.
        mosaic_dir: where mosaic VRTs are written.
        mosaic: whether Earth Engine tiles sharing a stem become one scene.

    Returns:
        the scenes.

    Raises:
        MinegeoInputError: if nothing matches.
    """
    if Path(spec).suffix.lower() == ".csv" and Path(spec).is_file():
        from minegeo.change.series import series_stems  # a time series: path,period rows

        return sorted((Scene(stem, path, (path,)) for path, stem in series_stems(spec)), key=lambda s: s.stem)
    files = list_inputs(spec)
    groups: dict[str, list[Path]] = defaultdict(list)
    for file in files:
        match = EE_TILE.match(file.stem) if mosaic else None
        groups[match["stem"] if match else file.stem].append(file)
    scenes = []
    for stem, sources in sorted(groups.items()):
        if len(sources) == 1:
            scenes.append(Scene(stem, sources[0], (sources[0],)))
        else:
            scenes.append(Scene(stem, write_mosaic_vrt(sources, mosaic_dir / f"{stem}.vrt"), tuple(sources)))
    return scenes


@dataclass(frozen=True)
class SceneBands:
    """Where a scene holds the checkpoint's bands."""

    #: 1-based band indexes, in the checkpoint's band order
    indexes: list[int]
    #: the names taken for a file without band descriptions; None when it has them
    assumed: tuple[str, ...] | None
    #: stored value -> reflectance per band from the file's scale/offset tags; empty: untagged
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()


def check_scene(path: Path, preprocessing: Preprocessing, input_scale: float | None = None) -> SceneBands:
    """Check a scene against the checkpoint and find its bands.

    A file without band descriptions is read as holding the checkpoint's bands in order
    when it has as many, else as an Earth Engine export of every Sentinel-2 band
    (:func:`~minegeo.datasets.raster.match_bands`); the caller warns that the order was
    assumed. Values become reflectance through the file's scale tags, else
    ``input_scale``, else the checkpoint's ``reflectance_scale``.

    Raises:
        MinegeoInputError: one line for an unreadable file, missing bands, a resolution
            more than 10% off the checkpoint's, or values that are not what the model
            reads (digital numbers for a reflectance model, or the reverse).
    """
    with open_raster(path) as src:
        found = match_bands(src, preprocessing.bands, preprocessing.bands, "the checkpoint")
        resolution = pixel_size_m(src)
        expected = preprocessing.resolution_m
        if abs(resolution - expected) > RESOLUTION_TOLERANCE * expected:
            raise MinegeoInputError(
                f"{path}: pixel size {resolution:.2f} m, but the checkpoint was trained at {expected:.2f} m"
            )
        scale, offset = file_scaling(src, found.indexes)
        if not scale and input_scale is not None:  # the user's word for an untagged file
            scale, offset = (input_scale,) * len(found.indexes), (0.0,) * len(found.indexes)
        check_value_range(path, src, found.indexes, scale or (preprocessing.reflectance_scale,), offset)
        return SceneBands(found.indexes, None if found.described else found.names, scale, offset)


def file_scaling(src: Any, indexes: list[int]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The file's own scale and offset tags for ``indexes``, or empty tuples when it has none."""
    scale = tuple(float(src.scales[i - 1]) for i in indexes)
    offset = tuple(float(src.offsets[i - 1]) for i in indexes)
    if all(value == 1.0 for value in scale) and not any(offset):
        return (), ()
    return scale, offset


#: reflectance above this (99th percentile of a scene) is digital numbers: TOA reflectance of
#: clouds and snow stays below 2, DN of dark land exceed 100
DN_ABOVE = 20.0
#: reflectance below this at the 99th percentile is reflectance scaled again as if it were DN
REFLECTANCE_BELOW = 0.01
#: the value check reads a corner of this many blocks spread over the scene, this many px a side
SAMPLED_BLOCKS = 4
SAMPLE_PX = 128


def check_value_range(
    path: Path, src: Any, indexes: list[int], scale: tuple[float, ...], offset: tuple[float, ...]
) -> None:
    """Refuse a scene whose values, scaled as the model reads them, are not reflectance.

    Sentinel-2 products and uint16 exports hold digital numbers (reflectance x 10000); a
    model trained on reflectance reads them as very bright clouds and predicts garbage.

    Raises:
        MinegeoInputError: naming the file, what its values look like and what to do.
    """
    p99 = _sampled_percentile(src, indexes)
    if p99 is None:
        return
    reflectance = p99 * max(scale) + (max(offset) if offset else 0.0)
    if reflectance > DN_ABOVE:
        raise MinegeoInputError(
            f"{path}: values look like digital numbers (99th percentile {p99:g}, {reflectance:g} as "
            f"the model reads them) but the model expects reflectance; pass input_scale=0.0001 "
            f"or tag the file's scale (gdal_edit.py -scale 0.0001)"
        )
    if 0 < reflectance < REFLECTANCE_BELOW:
        raise MinegeoInputError(
            f"{path}: values look like reflectance (99th percentile {p99:g}) but the model reads "
            f"digital numbers (scale {max(scale):g}); use a model trained on reflectance"
        )


def _sampled_percentile(src: Any, indexes: list[int]) -> float | None:
    """The 99th percentile of valid values in a few small windows spread over the scene (None: no data)."""
    blocks = [window for _, window in src.block_windows(1)]
    step = max(1, len(blocks) // SAMPLED_BLOCKS)
    values = []
    for block in blocks[step // 2 :: step][:SAMPLED_BLOCKS]:
        corner = Window(
            block.col_off, block.row_off, min(block.width, SAMPLE_PX), min(block.height, SAMPLE_PX)
        )
        values.append(src.read(indexes, window=corner).ravel().astype(np.float64))
    sample = np.concatenate(values)
    valid = np.isfinite(sample) & (sample != src.nodata if src.nodata is not None else True)
    return float(np.percentile(sample[valid], 99)) if valid.any() else None


def write_mosaic_vrt(sources: list[Path], target: Path) -> Path:
    """Write a VRT that mosaics tiles on one grid (same CRS, pixel size, bands, dtype).

    Raises:
        MinegeoInputError: if the tiles do not share a grid.
    """
    infos = []
    for source in sources:
        with open_raster(source) as src:
            infos.append((source, src.profile, src.transform, src.descriptions))
    first = infos[0][1]
    for source, profile, transform, _ in infos:
        same = (profile["crs"], profile["count"], profile["dtype"]) == (
            first["crs"],
            first["count"],
            first["dtype"],
        )
        if not same or (transform.a, transform.e) != (infos[0][2].a, infos[0][2].e):
            raise MinegeoInputError(
                f"{source}: tile does not share the grid of {infos[0][0]} (CRS, bands, dtype, pixel)"
            )
    xres, yres = infos[0][2].a, infos[0][2].e
    left = min(t.c for _, _, t, _ in infos)
    top = max(t.f for _, _, t, _ in infos)
    cols = [round((t.c - left) / xres) for _, _, t, _ in infos]
    rows = [round((t.f - top) / yres) for _, _, t, _ in infos]
    width = max(c + p["width"] for c, (_, p, _, _) in zip(cols, infos, strict=True))
    height = max(r + p["height"] for r, (_, p, _, _) in zip(rows, infos, strict=True))
    geo = f"{left!r}, {xres!r}, 0.0, {top!r}, 0.0, {yres!r}"
    nodata = first.get("nodata")
    bands = []
    for band in range(1, first["count"] + 1):
        description = infos[0][3][band - 1] or ""
        nodata_xml = f"<NoDataValue>{nodata!r}</NoDataValue>" if nodata is not None else ""
        sources_xml = "".join(
            f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(str(src.resolve()))}</SourceFilename>'
            f"<SourceBand>{band}</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{p["width"]}" ySize="{p["height"]}"/>'
            f'<DstRect xOff="{c}" yOff="{r}" xSize="{p["width"]}" ySize="{p["height"]}"/></SimpleSource>'
            for (src, p, _, _), c, r in zip(infos, cols, rows, strict=True)
        )
        data_type = rasterio.dtypes._gdal_typename(first["dtype"])
        bands.append(
            f'<VRTRasterBand dataType="{data_type}" band="{band}">'
            f"<Description>{escape(description)}</Description>{nodata_xml}{sources_xml}</VRTRasterBand>"
        )
    crs_wkt = escape(first["crs"].to_wkt()) if first["crs"] else ""
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{crs_wkt}</SRS>'
        f"<GeoTransform>{geo}</GeoTransform>{''.join(bands)}</VRTDataset>"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(xml)
    return target
