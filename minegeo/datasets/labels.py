"""Segmentation labels: vector polygons/points and image/mask patch pairs.

Labels come as vector files (GeoJSON, GeoPackage, Shapefile, KML) of mine and dam
polygons, or of points where only a location is known (Amazon Mining Watch), or as mask
rasters beside the image patches they label (``tailings_seg``). Both end as class-index
masks on the image's own pixel grid: ``0`` background, ``255`` ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import rasterio.transform
import shapely
import torch
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject
from torch.utils.data import Dataset
from torchgeo.datasets import VectorDataset
from torchgeo.datasets.utils import GeoSlice

from minegeo import IGNORE_INDEX, SEGMENTATION_CLASSES
from minegeo.datasets.raster import match_bands, open_raster, read_reflectance
from minegeo.datasets.timeindex import interval_of, label_intervals, time_index
from minegeo.datasets.vector import read_vector
from minegeo.errors import MinegeoInputError
from minegeo.geo import metres_per_degree, utm_epsg_codes
from minegeo.periods import parse_period

__all__ = ["IGNORE_INDEX", "MaskedPatches", "MineLabels", "rasterize_labels", "read_vector_labels"]

log = logging.getLogger(__name__)

#: Vector formats read as label files when a folder is given.
LABEL_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml", ".kmz")
#: 10 m (Sentinel-2's finest band) in degrees of longitude at the equator, for labels kept in lon/lat.
TEN_METRES_IN_DEGREES = 10 / metres_per_degree(0.0)[0]

_POINT_TYPES = ("Point", "MultiPoint")
_AREA_TYPES = ("Polygon", "MultiPolygon")


def read_vector_labels(
    path: str | Path,
    class_column: str = "class",
    class_names: Sequence[str] = SEGMENTATION_CLASSES,
    class_map: Mapping[Any, str] | None = None,
    point_radius_m: float = 100.0,
    layer: str | int | None = None,
    default_class: str | None = None,
) -> gpd.GeoDataFrame:
    """Read label polygons (and points) with a class index per feature.

    Points are buffered by ``point_radius_m`` metres in their own UTM zone, so a circle is
    a circle at any latitude. Null, empty and line geometries are dropped and invalid
    polygons repaired, each with a logged warning.

    Args:
        path: a GeoJSON, GeoPackage, Shapefile or KML file.
        class_column: the attribute holding each feature's class.
        class_names: the classes, in index order (index 0 is background).
        class_map: source value -> class name (e.g. ``{"1": "mine"}``); values not in it
            must already be class names.
        point_radius_m: radius, in metres, of the disc drawn around each point.
        layer: the layer of a multi-layer file (default: the first).
        default_class: the class of features without one, and of every feature when the
            file has no ``class_column`` (e.g. ``"mine"`` for a file of mine points).

    Returns:
        the features in the file's CRS, their attributes kept, with ``class_name`` and the
        integer ``class_index`` (into ``class_names``) added; every geometry a polygon.

    Raises:
        MinegeoInputError: for a missing, unreadable or empty file, a file without CRS,
            no class column (and no ``default_class``) or class values not in ``class_names``.
    """
    path = Path(path)
    frame = _valid_features(path, _read_vector(path, layer))
    names = _class_names_of(path, frame, class_column, tuple(class_names), class_map, default_class)
    frame["class_name"] = names
    frame["class_index"] = names.map({name: index for index, name in enumerate(class_names)}).astype(int)
    frame = frame.set_geometry(_buffer_points(frame.geometry, point_radius_m))
    return frame.reset_index(drop=True)


def _read_vector(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    frame = read_vector(path, layer, kind="label file")
    if frame.empty:
        raise MinegeoInputError(f"{path}: no label features; expected polygons or points")
    return frame


def _valid_features(path: Path, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair invalid geometries and drop those that cannot be a label (null, empty, lines)."""
    invalid = frame.geometry.notna() & ~frame.geometry.is_valid
    if invalid.any():
        log.warning("%s: repaired %d invalid geometries", path, int(invalid.sum()))
        frame.loc[invalid, frame.geometry.name] = frame.geometry[invalid].make_valid()
    geometry = frame.geometry.map(_areal_or_point_part, na_action="ignore")
    usable = geometry.notna()
    if not usable.all():
        log.warning("%s: dropped %d features without a polygon or point geometry", path, int((~usable).sum()))
    if not usable.any():
        raise MinegeoInputError(f"{path}: no label features with a polygon or point geometry")
    return frame[usable].set_geometry(gpd.GeoSeries(geometry[usable], crs=frame.crs))


def _areal_or_point_part(geometry: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons (else the points) of a geometry; None for null, empty or lines only."""
    if geometry.is_empty:
        return None
    if geometry.geom_type in _AREA_TYPES + _POINT_TYPES:
        return geometry
    parts = shapely.get_parts(geometry)
    for kinds in (_AREA_TYPES, _POINT_TYPES):
        kept = [part for part in parts if part.geom_type in kinds and not part.is_empty]
        if kept:
            return shapely.union_all(kept)
    return None


def _class_names_of(
    path: Path,
    frame: gpd.GeoDataFrame,
    class_column: str,
    class_names: tuple[str, ...],
    class_map: Mapping[Any, str] | None,
    default_class: str | None,
) -> pd.Series:
    """Each feature's class name, from its class value through ``class_map``."""
    if class_column in frame.columns:
        lookup = {_class_key(key): name for key, name in (class_map or {}).items()}
        keys = frame[class_column].map(_class_key)
        names = keys.map(lambda key: lookup.get(key, key), na_action="ignore")
    elif default_class is not None:
        names = pd.Series(default_class, index=frame.index, dtype=object)
    else:
        columns = ", ".join(str(name) for name in frame.columns if name != frame.geometry.name)
        raise MinegeoInputError(
            f"{path}: no class column {class_column!r} (columns: {columns}); "
            f"set class_column, or default_class for a file of one class"
        )
    if default_class is not None:
        names = names.fillna(default_class)
    unknown = sorted({str(name) for name in names if name not in class_names})
    if unknown:
        raise MinegeoInputError(
            f"{path}: unknown class value(s) {', '.join(unknown)} in {class_column!r}; "
            f"expected one of {', '.join(class_names)} (or map values with class_map)"
        )
    return names.astype(str)


def _class_key(value: Any) -> str | None:
    """A class value as text, so ``1``, ``1.0`` and ``"1"`` all match ``class_map`` key "1"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _buffer_points(geometry: gpd.GeoSeries, radius_m: float) -> gpd.GeoSeries:
    """Discs of ``radius_m`` metres around points, each drawn in its own UTM zone."""
    is_point = geometry.geom_type.isin(_POINT_TYPES)
    if not is_point.any():
        return geometry
    points = geometry[is_point].to_crs("EPSG:4326")
    centres = shapely.centroid(points.values)
    longitude, latitude = shapely.get_x(centres), shapely.get_y(centres)
    epsg = utm_epsg_codes(longitude, latitude)
    buffered = geometry.copy()
    for code in np.unique(epsg):
        in_zone = epsg == code
        discs = points[in_zone].to_crs(int(code)).buffer(radius_m).to_crs(geometry.crs)
        buffered.loc[discs.index] = discs.values
    return buffered


def rasterize_labels(
    labels: gpd.GeoDataFrame,
    class_names: Sequence[str],
    transform: Affine,
    shape: tuple[int, int],
    crs: CRS | str,
) -> np.ndarray:
    """Burn labels into a class-index mask on a raster grid.

    The labels are reprojected to ``crs`` first. Where classes overlap the higher index
    wins (``tailings_dam`` over ``mine``): a dam lies inside the mine that owns it.

    Args:
        labels: features with a ``class_index`` column (as from :func:`read_vector_labels`).
        class_names: the classes, in index order; every ``class_index`` must be below its length.
        transform: the raster's affine transform.
        shape: the raster's (height, width).
        crs: the raster's CRS.

    Returns:
        uint8 array of ``shape`` with class indices, 0 (background) where no label falls.

    Raises:
        MinegeoInputError: if a class index is outside ``class_names`` or the labels have no CRS.
    """
    if labels.crs is None:
        raise MinegeoInputError("labels have no CRS; expected the CRS of the file they came from")
    indexes = labels["class_index"].astype(int)
    if len(labels) and not indexes.between(0, len(class_names) - 1).all():
        raise MinegeoInputError(
            f"class_index values {sorted(set(indexes))} do not fit the {len(class_names)} classes "
            f"{', '.join(class_names)}"
        )
    labels = labels if CRS.from_user_input(crs) == labels.crs else labels.to_crs(crs)
    left, bottom, right, top = rasterio.transform.array_bounds(shape[0], shape[1], transform)
    inside = labels.cx[left:right, bottom:top]
    if inside.empty:
        return np.zeros(shape, dtype=np.uint8)
    # rasterize burns shapes in order, later over earlier: sort so higher classes come last.
    ordered = inside.iloc[np.argsort(inside["class_index"].to_numpy(), kind="stable")]
    shapes = zip(ordered.geometry, ordered["class_index"].astype(int), strict=True)
    return rasterio.features.rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype=np.uint8)


class MineLabels(VectorDataset):
    """Mine and tailings-dam labels as a TorchGeo dataset of class-index masks.

    Combine it with an image dataset for segmentation: ``Sentinel2Composite(...) &
    MineLabels(...)``. Features are read once through :func:`read_vector_labels`, so
    points are buffered in metres and class values mapped the same way everywhere.
    Features with a ``period`` (a time series' labels, e.g. a synthetic world's
    ``labels_by_period.gpkg``) label only the scenes of that period.
    """

    def __init__(
        self,
        paths: str | Path | Iterable[str | Path],
        crs: CRS | None = None,
        res: float | tuple[float, float] | None = None,
        class_names: Sequence[str] = SEGMENTATION_CLASSES,
        class_column: str = "class",
        point_radius_m: float = 100.0,
        class_map: Mapping[Any, str] | None = None,
        default_class: str | None = None,
        layer: str | int | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        extent: gpd.GeoSeries | None = None,
    ) -> None:
        """Read every label file under ``paths``.

        Args:
            paths: label files, or folders searched for *.gpkg, *.geojson, *.shp, *.kml.
            crs: CRS of the masks (default: the first file's).
            res: mask resolution in CRS units (default: 10 m, in degrees for lon/lat CRSs).
            class_names: the classes, in index order (index 0 is background).
            class_column: see :func:`read_vector_labels`.
            point_radius_m: see :func:`read_vector_labels`.
            class_map: see :func:`read_vector_labels`.
            default_class: see :func:`read_vector_labels`.
            layer: see :func:`read_vector_labels`.
            transforms: applied to each sample.
            extent: where the labels are complete, so unlabelled pixels there are
                background (e.g. the scenes' footprints). Default: each file's feature
                bounds, which would leave background far from any label unsampled.

        Raises:
            MinegeoInputError: if no label file is found, or one cannot be read.
        """
        # VectorDataset.__init__ is not called: it would read every file a second time
        # with neither point buffering nor class mapping; only the index it builds is needed.
        self.paths = paths if isinstance(paths, str | Path) else list(paths)
        self.transforms = transforms
        self.class_names = tuple(class_names)
        files = [Path(file) for file in self.files if Path(file).suffix.lower() in LABEL_SUFFIXES]
        if not files:
            raise MinegeoInputError(f"{paths}: no label files ({', '.join(LABEL_SUFFIXES)}) found")
        frames = [
            read_vector_labels(
                file, class_column, class_names, class_map, point_radius_m, layer, default_class
            )
            for file in files
        ]
        crs = CRS.from_user_input(crs) if crs is not None else frames[0].crs
        frames = [frame.to_crs(crs) for frame in frames]
        self.index = _file_index(files, frames, crs)
        self._labels = pd.concat(frames, ignore_index=True)
        self._times = label_intervals(_periods(self._labels))
        if extent is not None:
            self.index = self.index.set_geometry([extent.to_crs(crs).union_all()] * len(self.index))
        self._res = _resolution(res, crs)

    def __getitem__(self, query: GeoSlice) -> dict[str, Any]:
        """The class-index mask of a spatial slice.

        Args:
            query: [xmin:xmax:xres, ymin:ymax:yres, tmin:tmax:tres] in the dataset's CRS.

        Returns:
            ``{"mask": LongTensor (H, W), "crs": CRS, "bounds": query}``.

        Raises:
            IndexError: if the slice lies outside every label file's bounds.
        """
        x, y, t = self._disambiguate_slice(query)
        if self.index.cx[x.start : x.stop, y.start : y.stop].empty:
            raise IndexError(f"query: {query} not found in index with bounds: {self.bounds}")
        if self._labels.crs != self.crs:
            # IntersectionDataset changes `crs` after construction; follow it once.
            self._labels = self._labels.to_crs(self.crs)
        height, width = round((y.stop - y.start) / y.step), round((x.stop - x.start) / x.step)
        transform = rasterio.transform.from_bounds(x.start, y.start, x.stop, y.stop, width, height)
        labels = self._labels[_meets(self._times, t.start, t.stop)]
        mask = rasterize_labels(labels, self.class_names, transform, (height, width), self.crs)
        sample: dict[str, Any] = {"mask": torch.from_numpy(mask).long(), "crs": self.crs, "bounds": query}
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample


def _file_index(files: list[Path], frames: list[gpd.GeoDataFrame], crs: CRS) -> gpd.GeoDataFrame:
    """TorchGeo's index: a row per file and period its features hold, with their bounds.

    Features without a period (no ``period`` column, or an empty value) hold at all
    times, as does a file without features.
    """
    paths, times, boxes = [], [], []
    for file, frame in zip(files, frames, strict=True):
        groups = frame.groupby(_periods(frame).fillna(""), sort=True) if len(frame) else [("", frame)]
        for period, group in groups:
            try:
                times.append(interval_of(parse_period(period) if period else None))
            except MinegeoInputError as error:
                raise MinegeoInputError(f"{file}: column 'period': {error}") from None
            paths.append(str(file))
            boxes.append(shapely.box(*group.total_bounds))
    return gpd.GeoDataFrame({"filepath": paths}, index=time_index(times), geometry=boxes, crs=crs)


def _periods(frame: pd.DataFrame) -> pd.Series:
    """Each feature's period label, null where it has none."""
    if "period" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame["period"].astype("string")


def _meets(times: pd.IntervalIndex, start: pd.Timestamp, stop: pd.Timestamp) -> np.ndarray:
    """Which intervals meet ``[start, stop]``."""
    return np.asarray((times.left <= stop) & (times.right >= start))


def _resolution(res: float | tuple[float, float] | None, crs: CRS) -> tuple[float, float]:
    if res is None:
        step = TEN_METRES_IN_DEGREES if crs.is_geographic else 10.0
        return (step, step)
    if isinstance(res, int | float):
        return (float(res), float(res))
    return (float(res[0]), float(res[1]))


class MaskedPatches(Dataset[dict[str, Any]]):
    """Image patches with a mask raster each, stored in sibling folders.

    The layout of ``tailings_seg``: ``img/img_N.tif`` labelled by ``mask/mask_N.tif``
    (matched by the number N). Each sample is ``{"image": FloatTensor (C, H, W)
    reflectance, NaN for nodata, "mask": LongTensor (H, W) class indices with 255 =
    ignore, "path": str}``. Patches smaller than ``patch_size`` are padded with NaN
    image and ignored mask, so padding never counts as background; larger ones are
    centre-cropped.
    """

    def __init__(
        self,
        root: str | Path,
        bands: Sequence[str] | None = None,
        patch_size: int | None = None,
        mask_classes: Mapping[int, str] | None = None,
        class_names: Sequence[str] = SEGMENTATION_CLASSES,
        image_dir: str = "img",
        mask_dir: str = "mask",
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Pair every image with its mask and check that they share a grid.

        Args:
            root: the folder holding ``image_dir`` and ``mask_dir``.
            bands: band names to read, in order (default: the first image's bands, named by
                its band descriptions).
            patch_size: pad or centre-crop every patch to this many pixels square
                (default: keep each patch's own size).
            mask_classes: mask value -> class name (default ``{1: "tailings_dam"}``);
                0 is background, the mask's nodata value is ignored.
            class_names: the classes, in index order.
            image_dir: the images' folder under ``root``.
            mask_dir: the masks' folder under ``root``.
            transforms: applied to each sample.

        Raises:
            MinegeoInputError: for an image without mask (or the reverse), a missing band,
                a mask value outside ``mask_classes`` or a mask not on its image's grid.
        """
        root = Path(root)
        self.patch_size = patch_size
        self.transforms = transforms
        self._lookup = _mask_lookup(mask_classes or {1: "tailings_dam"}, tuple(class_names))
        self.pairs = _pair_files(root / image_dir, root / mask_dir)
        if bands is None:
            with open_raster(self.pairs[0][0]) as src:
                bands = match_bands(src).names
        #: the band names of ``image``, in channel order
        self.bands = tuple(bands)
        self._grids = [_check_pair(image, mask, self.bands) for image, mask in self.pairs]

    def __len__(self) -> int:
        """The number of image/mask pairs."""
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The image, mask and image path of one patch.

        Args:
            index: the patch's position (pairs are sorted by image file name).

        Returns:
            ``{"image": FloatTensor (C, H, W), "mask": LongTensor (H, W), "path": str}``.
        """
        image_path, mask_path = self.pairs[index]
        with open_raster(image_path) as src:
            image = read_reflectance(src, self.bands)
            grid = (src.crs, src.transform, src.shape)
        mask = self._read_mask(mask_path, grid)
        mask[np.isnan(image).any(axis=0)] = IGNORE_INDEX
        if self.patch_size is not None:
            image = _fit(image, self.patch_size, np.float32(np.nan))
            mask = _fit(mask, self.patch_size, np.uint8(IGNORE_INDEX))
        sample: dict[str, Any] = {
            "image": torch.from_numpy(np.ascontiguousarray(image)),
            "mask": torch.from_numpy(np.ascontiguousarray(mask)).long(),
            "path": str(image_path),
        }
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def footprints(self) -> gpd.GeoDataFrame:
        """One row per patch: its image ``path`` and the polygon of its bounds.

        Returns:
            the footprints in the first image's CRS (the others reprojected to it), in
            sample order, for splitting patches by place.
        """
        crs = self._grids[0][0]
        boxes = [
            gpd.GeoSeries([shapely.box(*rasterio.transform.array_bounds(*shape, transform))], crs=grid_crs)
            .to_crs(crs)
            .iloc[0]
            for grid_crs, transform, shape in self._grids
        ]
        paths = [str(image) for image, _ in self.pairs]
        return gpd.GeoDataFrame({"path": paths}, geometry=boxes, crs=crs)

    def _read_mask(self, path: Path, grid: tuple[CRS, Affine, tuple[int, int]]) -> np.ndarray:
        """The mask as class indices on the image grid (255 for nodata)."""
        crs, transform, shape = grid
        with open_raster(path) as src:
            values = src.read(1)
            nodata = src.nodata
            if src.shape != shape or not src.transform.almost_equals(transform):
                # Same footprint, other pixel size (checked at init): the image is the
                # measurement, so the labels are resampled to it, never the reverse.
                values = _resample_mask(values, src.transform, transform, shape, crs)
        in_table = (values >= 0) & (values <= 255)
        mapped = np.where(in_table, self._lookup[np.clip(values, 0, 255).astype(np.intp)], _UNKNOWN)
        if nodata is not None:
            mapped[values == nodata] = IGNORE_INDEX
        unknown = np.unique(values[mapped == _UNKNOWN])
        if unknown.size:
            raise MinegeoInputError(
                f"{path}: mask value(s) {', '.join(map(str, unknown))} have no class; "
                f"expected 0 (background) or a key of mask_classes"
            )
        return mapped.astype(np.uint8)


#: Lookup-table entry for mask values that map to no class.
_UNKNOWN = -1


def _mask_lookup(mask_classes: Mapping[int, str], class_names: tuple[str, ...]) -> np.ndarray:
    """Mask value -> class index table over every uint8 value (-1 where unmapped)."""
    lookup = np.full(256, _UNKNOWN, dtype=np.int16)
    lookup[0] = 0
    for value, name in mask_classes.items():
        if name not in class_names:
            raise MinegeoInputError(
                f"mask_classes maps {value} to {name!r}; expected one of {', '.join(class_names)}"
            )
        lookup[int(value)] = class_names.index(name)
    return lookup


def _pair_files(image_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    """Images and masks matched by the number ending their names (img_23 <-> mask_23)."""
    images, masks = _tifs_by_key(image_dir), _tifs_by_key(mask_dir)
    for found, other, folder in ((images, masks, mask_dir), (masks, images, image_dir)):
        orphans = sorted(str(found[key]) for key in found.keys() - other.keys())
        if orphans:
            raise MinegeoInputError(f"{orphans[0]}: no matching file in {folder} ({len(orphans)} unmatched)")
    if not images:
        raise MinegeoInputError(f"{image_dir}: no .tif images found")
    return [(images[key], masks[key]) for key in sorted(images, key=lambda name: images[name].name)]


def _tifs_by_key(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise MinegeoInputError(f"{folder}: folder not found")
    files = [*folder.glob("*.tif"), *folder.glob("*.tiff")]
    return {_pair_key(file): file for file in files}


def _pair_key(path: Path) -> str:
    match = re.search(r"(\d+)$", path.stem)
    return match.group(1) if match else path.stem


def _check_pair(image: Path, mask: Path, bands: Sequence[str]) -> tuple[CRS, Affine, tuple[int, int]]:
    """The image's grid, after checking its bands and that the mask covers the same pixels."""
    with open_raster(image) as src, open_raster(mask) as msk:
        match_bands(src, bands)
        if src.crs != msk.crs:
            raise MinegeoInputError(f"{mask}: CRS {msk.crs} differs from {image} ({src.crs})")
        half_pixel = max(abs(msk.transform.a), abs(msk.transform.e)) / 2
        if not np.allclose(tuple(src.bounds), tuple(msk.bounds), rtol=0, atol=half_pixel):
            raise MinegeoInputError(
                f"{mask}: bounds {tuple(msk.bounds)} differ from {image} {tuple(src.bounds)}; "
                f"expected the mask on the image's grid"
            )
        if src.shape != msk.shape:
            log.warning(
                "%s: %s px mask resampled onto %s's %s px grid", mask, msk.shape, image.name, src.shape
            )
        return src.crs, src.transform, src.shape


def _resample_mask(
    values: np.ndarray, src_transform: Affine, dst_transform: Affine, shape: tuple[int, int], crs: CRS
) -> np.ndarray:
    out = np.zeros(shape, dtype=values.dtype)
    reproject(
        values,
        out,
        src_transform=src_transform,
        src_crs=crs,
        dst_transform=dst_transform,
        dst_crs=crs,
        resampling=Resampling.mode,
    )
    return out


def _fit(array: np.ndarray, size: int, fill: np.generic) -> np.ndarray:
    """Centre ``array``'s last two axes in a ``size`` square: crop what is over, pad with ``fill``."""
    height, width = array.shape[-2:]
    top, left = max((height - size) // 2, 0), max((width - size) // 2, 0)
    cropped = array[..., top : top + size, left : left + size]
    pad_y, pad_x = size - cropped.shape[-2], size - cropped.shape[-1]
    padding = [(0, 0)] * (array.ndim - 2) + [
        (pad_y // 2, pad_y - pad_y // 2),
        (pad_x // 2, pad_x - pad_x // 2),
    ]
    return np.pad(cropped, padding, constant_values=fill)
