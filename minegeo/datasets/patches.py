"""Class-folder patch datasets: the paper's ``<root>/<class>/*.tif`` layout.

The discovery set holds 201 px patches in ``mine`` and ``not_mine`` folders, the ore-type
set 21 px patches in ``high_impact``, ``low_impact`` and ``no_ore``. Headers are checked
when the dataset is built, so a corrupt file or a missing band fails at once with its
name; pixels are read only when a sample is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import torch
from pyproj import CRS
from torch.utils.data import Dataset

from minegeo.datasets.raster import match_bands, open_raster, pixel_size_m, read_reflectance
from minegeo.errors import MinegeoInputError

#: file name patterns of patch files inside a class folder
PATCH_GLOBS = ("*.tif", "*.tiff")


@dataclass(frozen=True)
class _PatchFile:
    """What the header of one patch file says."""

    path: Path
    label: int
    bounds: tuple[float, float, float, float]
    crs: CRS | None
    resolution_m: float


class PatchFolder(Dataset[dict[str, Any]]):
    """Patches sorted into one folder per class, as the paper's datasets are.

    Samples are ``{"image": FloatTensor (C, H, W), "label": int, "path": str}``: the image
    is reflectance (stored values times ``reflectance_scale``) with NaN where a pixel is
    nodata, centre-cropped or NaN-padded to ``patch_size``.
    """

    def __init__(
        self,
        root: str | Path,
        class_names: Sequence[str] | None = None,
        bands: Sequence[str] | None = None,
        patch_size: int = 201,
        reflectance_scale: float = 1.0,
        balance: bool = False,
        seed: int = 0,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Index the patch files under ``root`` and check every file's header.

        Args:
            root: folder holding one sub-folder of ``.tif`` patches per class.
            class_names: classes in label order (default: the sub-folder names, sorted);
                when given, the sub-folders must be exactly these.
            bands: band names to read, in this order (default: the first file's bands).
            patch_size: side of the returned images, pixels (201 discovery, 21 ore type).
            reflectance_scale: factor from stored values to reflectance.
            balance: keep as many patches per class as the smallest class has (the
                paper's balancing), chosen at random with ``seed``.
            seed: seed of the balancing subsample.
            transforms: applied to each sample dictionary.

        Raises:
            MinegeoInputError: for a missing root, unexpected or missing class folders,
                an empty class folder, a corrupt file or a file lacking a band.
        """
        self.root = Path(root)
        self.patch_size = patch_size
        self.reflectance_scale = reflectance_scale
        self.transforms = transforms
        self.class_names = _class_names(self.root, class_names)
        paths = [_patch_paths(self.root / name) for name in self.class_names]
        if balance:
            paths = _balance(paths, seed)
        self.bands, self.files = self._read_headers(paths, bands)

    def __len__(self) -> int:
        """Number of patches."""
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The patch at ``index`` as a sample dictionary."""
        file = self.files[index]
        with open_raster(file.path) as src:
            data = read_reflectance(src, self.bands, reflectance_scale=self.reflectance_scale)
        sample: dict[str, Any] = {
            "image": torch.from_numpy(_centre_fit(data, self.patch_size)),
            "label": file.label,
            "path": str(file.path),
        }
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    @property
    def labels(self) -> np.ndarray:
        """Label of every patch, in index order."""
        return np.array([file.label for file in self.files], dtype=np.int64)

    @property
    def num_bands(self) -> int:
        """Number of bands in each image."""
        return len(self.bands)

    @property
    def resolution_m(self) -> float:
        """Median ground size of a pixel over the files, metres."""
        return float(np.median([file.resolution_m for file in self.files]))

    def footprints(self) -> gpd.GeoDataFrame:
        """Bounds of every file as polygons, in the first file's CRS.

        Returns:
            a GeoDataFrame with columns ``path``, ``label`` and ``geometry``, one row per
            patch in index order; files in other CRSs are reprojected.
        """
        crs = self.files[0].crs
        frames = []
        for file_crs in dict.fromkeys(file.crs for file in self.files):
            rows = [i for i, file in enumerate(self.files) if file.crs == file_crs]
            frame = gpd.GeoDataFrame(
                {
                    "path": [str(self.files[i].path) for i in rows],
                    "label": [self.files[i].label for i in rows],
                },
                geometry=[shapely.box(*self.files[i].bounds) for i in rows],
                index=rows,
                crs=file_crs,
            )
            frames.append(frame.to_crs(crs) if file_crs != crs and crs is not None else frame)
        joined = gpd.GeoDataFrame(pd.concat(frames), crs=crs)
        return joined.sort_index()

    def _read_headers(
        self, paths: list[list[Path]], bands: Sequence[str] | None
    ) -> tuple[tuple[str, ...], list[_PatchFile]]:
        if bands is None:
            with open_raster(paths[0][0]) as src:
                bands = match_bands(src).names
        files = []
        for label, class_paths in enumerate(paths):
            for path in class_paths:
                with open_raster(path) as src:
                    match_bands(src, bands)
                    files.append(_PatchFile(path, label, tuple(src.bounds), src.crs, pixel_size_m(src)))
        return tuple(bands), files


def _class_names(root: Path, class_names: Sequence[str] | None) -> tuple[str, ...]:
    if not root.is_dir():
        raise MinegeoInputError(f"{root}: patch folder not found; expected <root>/<class>/*.tif")
    folders = sorted(child.name for child in root.iterdir() if child.is_dir())
    if class_names is None:
        if not folders:
            raise MinegeoInputError(f"{root}: no class folders; expected <root>/<class>/*.tif")
        return tuple(folders)
    unexpected = sorted(set(folders) - set(class_names))
    missing = [name for name in class_names if name not in folders]
    if unexpected or missing:
        raise MinegeoInputError(
            f"{root}: class folders {folders} do not match the classes {list(class_names)} "
            f"(unexpected: {unexpected}, missing: {missing})"
        )
    return tuple(class_names)


def _patch_paths(folder: Path) -> list[Path]:
    paths = sorted(path for pattern in PATCH_GLOBS for path in folder.glob(pattern))
    if not paths:
        raise MinegeoInputError(f"{folder}: empty class folder; expected at least one .tif patch")
    return paths


def _balance(paths: list[list[Path]], seed: int) -> list[list[Path]]:
    """As many paths per class as the smallest class has, a seeded random subset kept in order."""
    rng = np.random.default_rng(seed)
    smallest = min(len(class_paths) for class_paths in paths)
    kept = []
    for class_paths in paths:
        chosen = np.sort(rng.choice(len(class_paths), size=smallest, replace=False))
        kept.append([class_paths[i] for i in chosen])
    return kept


def _centre_fit(data: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop or NaN-pad a (C, H, W) array to (C, size, size)."""
    channels, height, width = data.shape
    out = np.full((channels, size, size), np.nan, dtype=np.float32)
    # Crop offsets in the source, pad offsets in the output; the same rounding both ways.
    src_top, dst_top = max((height - size) // 2, 0), max((size - height) // 2, 0)
    src_left, dst_left = max((width - size) // 2, 0), max((size - width) // 2, 0)
    rows, cols = min(height, size), min(width, size)
    out[:, dst_top : dst_top + rows, dst_left : dst_left + cols] = data[
        :, src_top : src_top + rows, src_left : src_left + cols
    ]
    return out
