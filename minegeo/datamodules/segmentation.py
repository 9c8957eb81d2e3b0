"""Segmentation DataModules: whole scenes with vector labels, and image/mask patch pairs.

Both split by place so that nothing seen in training is evaluated again: scenes are cut
into blocks assigned to splits with a one-patch buffer between splits; patch pairs are
grouped by overlap and distance before whole groups go to a split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, Subset, WeightedRandomSampler
from torchgeo.datasets import GeoDataset, stack_samples
from torchgeo.samplers import GridGeoSampler, RandomGeoSampler

from minegeo import IGNORE_INDEX, SEGMENTATION_CLASSES
from minegeo.bundle import Preprocessing
from minegeo.datamodules.base import MinegeoDataModule
from minegeo.datamodules.splits import (
    DEFAULT_FRACTIONS,
    SPLITS,
    assign_splits,
    group_by_place,
    kfold_assign,
    save_split,
    split_blocks,
)
from minegeo.datasets.labels import MaskedPatches, MineLabels
from minegeo.datasets.raster import open_raster, pixel_size_m
from minegeo.datasets.sentinel2 import Sentinel2Composite
from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path
from minegeo.models.weights import is_torchgeo_name, weights_normalization

#: how band statistics are chosen: from the train split, or the pretrained weights' own
Normalization = Literal["train_split", "weights"]


class SceneSegmentationDataModule(MinegeoDataModule):
    """Random patches from whole scenes for training; a grid over held-out blocks for val/test.

    A time series (scenes ``<place>.<period>.tif``, labels with a ``period`` column) trains
    on every period: each sample comes from one period's scene and labels, and the blocks
    are cut once per place, so all periods of a block share its split.

    Args:
        images: directory (or files) of Sentinel-2 composites.
        labels: vector label file (GPKG, GeoJSON, Shapefile, KML).
        class_names: class of each mask value, background first.
        patch_size: side of each sample, pixels.
        train_length: random training samples per epoch.
        block_size_px: side of the split blocks, pixels.
        buffer_px: gap kept between blocks of different splits (default: one patch).
        fractions: share of blocks per split.
        stats_samples: random train patches to estimate the band statistics from.
        nodata: extra nodata value besides NaN and the files' own.
        class_column: label attribute holding the class name.
        point_radius_m: radius that turns point labels into discs.
        batch_size: samples per batch.
        shared: ``bands``, ``reflectance_scale``, ``num_workers``, ``augment``, ``seed``,
            ``run_dir``: see :class:`MinegeoDataModule`.
    """

    def __init__(
        self,
        images: str | Path,
        labels: str | Path,
        class_names: Sequence[str] = SEGMENTATION_CLASSES,
        patch_size: int = 128,
        train_length: int = 512,
        block_size_px: int = 512,
        buffer_px: int | None = None,
        fractions: dict[str, float] | None = None,
        stats_samples: int = 64,
        nodata: float | None = None,
        class_column: str = "class",
        point_radius_m: float = 100.0,
        batch_size: int = 8,
        **shared: Any,
    ) -> None:
        super().__init__(class_names, patch_size, batch_size=batch_size, **shared)
        self.images, self.labels = Path(images), Path(labels)
        self.train_length = train_length
        self.block_size_px = block_size_px
        self.buffer_px = buffer_px if buffer_px is not None else patch_size
        self.fractions = dict(fractions or DEFAULT_FRACTIONS)
        self.stats_samples = stats_samples
        self.nodata = nodata
        self.class_column = class_column
        self.point_radius_m = point_radius_m
        self.blocks: gpd.GeoDataFrame | None = None

    def setup(self, stage: str | None = None) -> None:
        """Index scenes and labels, cut the split blocks, estimate train statistics (once)."""
        if self.preprocessing is not None:
            return
        # Samples stay raw: the bundle's Preprocessing applies the reflectance scale once,
        # here on the device as in predict.
        scenes = Sentinel2Composite(self.images, bands=self.bands, nodata=self.nodata)
        labels = MineLabels(
            self.labels,
            crs=scenes.crs,
            res=scenes.res,
            class_names=self.class_names,
            class_column=self.class_column,
            point_radius_m=self.point_radius_m,
            extent=scenes.index.geometry,
        )
        self.dataset: GeoDataset = scenes & labels
        resolution = float(scenes.res[0])
        self.blocks = split_blocks(
            _places(scenes.index.geometry),
            self.block_size_px * resolution,
            self.buffer_px * resolution,
            self.fractions,
            self.seed,
        )
        self.preprocessing = self._estimate_preprocessing(scenes)
        self._save_split()
        self._save_stats()

    def _estimate_preprocessing(self, scenes: Sentinel2Composite) -> Preprocessing:
        generator = torch.Generator().manual_seed(self.seed)
        sampler = self._sampler("train", length=self.stats_samples, generator=generator)
        samples = (scenes[query]["image"] for query in sampler)
        return self._train_preprocessing(samples, scenes.bands, _median_pixel_size_m(scenes.files))

    def _sampler(self, split: str, length: int | None = None, generator: Any = None) -> Sampler:
        assert self.blocks is not None
        rois = list(self.blocks.geometry[self.blocks["split"] == split])
        if split == "train":
            return BlockRandomSampler(
                self.dataset, rois, self.patch_size, length or self.train_length, generator
            )
        return BlockGridSampler(self.dataset, rois, self.patch_size)

    def _loader(self, split: str) -> DataLoader:
        generator = self._generator(split) if split == "train" else None
        return DataLoader(
            self.dataset,
            sampler=self._sampler(split, generator=generator),
            collate_fn=stack_samples,
            **self._loader_kwargs(),
        )

    def _save_split(self) -> None:
        if self.run_dir is None or self.blocks is None:
            return
        with atomic_path(self.run_dir / "split.gpkg") as tmp:
            self.blocks.to_file(tmp, driver="GPKG", layer="split")


class BlockRandomSampler(Sampler):
    """Random patches inside rectangular blocks, blocks drawn by area."""

    def __init__(
        self,
        dataset: GeoDataset,
        blocks: list[shapely.Polygon],
        size: int,
        length: int,
        generator: Any = None,
    ) -> None:
        self.samplers = [
            RandomGeoSampler(dataset, size, length=1, roi=block, generator=generator)
            for block in blocks
            if _fits(dataset, block, size)
        ]
        self.areas = torch.tensor([s.roi.area for s in self.samplers], dtype=torch.float64)
        self.length = length if self.samplers else 0
        self.generator = generator

    def __iter__(self) -> Iterator[Any]:
        picks = torch.multinomial(self.areas, self.length, replacement=True, generator=self.generator)
        for pick in picks.tolist():
            yield next(iter(self.samplers[pick]))

    def __len__(self) -> int:
        return self.length


class BlockGridSampler(Sampler):
    """Non-overlapping patches covering each rectangular block."""

    def __init__(self, dataset: GeoDataset, blocks: list[shapely.Polygon], size: int) -> None:
        self.samplers = [
            GridGeoSampler(dataset, size, size, roi=block) for block in blocks if _fits(dataset, block, size)
        ]

    def __iter__(self) -> Iterator[Any]:
        for sampler in self.samplers:
            yield from sampler

    def __len__(self) -> int:
        return sum(len(sampler) for sampler in self.samplers)


def _places(footprints: gpd.GeoSeries) -> gpd.GeoSeries:
    """Each footprint once: the periods of a place share its grid, and must share its splits."""
    return footprints[~footprints.to_wkb().duplicated()].reset_index(drop=True)


def _fits(dataset: GeoDataset, block: shapely.Polygon, size: int) -> bool:
    xmin, ymin, xmax, ymax = block.bounds
    res_x, res_y = dataset.res
    return (xmax - xmin) >= size * res_x and (ymax - ymin) >= size * res_y


class PatchPairSegmentationDataModule(MinegeoDataModule):
    """Image/mask patch pairs (``img/img_N.tif`` + ``mask/mask_N.tif``) split by place.

    Training draws random ``crop_size`` crops from the train patches (more distinct views
    of a small set than whole patches give); validation and test see whole patches.
    Under k-fold the held-out fold is the test split and ``val_fraction`` of the other
    patches, in whole places, is the validation split (checkpoint selection and calibration).

    Args:
        root: folder holding ``img/`` and ``mask/``.
        class_names: class of each mask index, background first.
        mask_classes: mask value -> class name (the real tailings masks: {1: tailings_dam}).
        patch_size: side every patch is padded or cropped to.
        crop_size: side of the random training crops (None: whole patches).
        foreground_crops: share of the crops placed around a foreground pixel.
        train_length: training crops per epoch (default: as many pixels as the train patches).
        split_distance_px: patches closer than this (in pixels of the first file) share a
            place and a split (default: one patch, which is also the buffer between splits).
        balance_places: draw training samples so that every place is seen equally often
            (with replacement), instead of every patch: a place exported as 7 overlapping
            patches otherwise counts 7 times as much as a place with one.
        fractions: share of places per split (without k-fold).
        kfold: number of folds grouped by place, or None for one split.
        fold: the held-out (test) fold under k-fold.
        val_fraction: share of the non-test patches (whole places) that validate under k-fold.
        normalization: ``train_split`` (band statistics of the train patches) or
            ``weights`` (the pretrained ``weights``' own normalisation).
        weights: the model's TorchGeo weights name, for ``normalization=weights``.
        batch_size: patches per batch.
        shared: ``bands``, ``reflectance_scale``, ``num_workers``, ``augment``, ``seed``,
            ``run_dir``: see :class:`MinegeoDataModule`.
    """

    def __init__(
        self,
        root: str | Path,
        class_names: Sequence[str] = SEGMENTATION_CLASSES,
        mask_classes: dict[int, str] | None = None,
        patch_size: int = 448,
        crop_size: int | None = None,
        foreground_crops: float = 0.0,
        train_length: int | None = None,
        split_distance_px: int | None = None,
        balance_places: bool = False,
        fractions: dict[str, float] | None = None,
        kfold: int | None = None,
        fold: int = 0,
        val_fraction: float = 0.2,
        normalization: Normalization = "train_split",
        weights: str | None = None,
        batch_size: int = 8,
        **shared: Any,
    ) -> None:
        super().__init__(class_names, patch_size, batch_size=batch_size, **shared)
        if kfold is not None and not 0 <= fold < kfold:
            raise MinegeoInputError(f"data.fold={fold} is outside 0..{kfold - 1} for kfold={kfold}")
        if crop_size is not None and not 0 < crop_size <= patch_size:
            raise MinegeoInputError(f"data.crop_size={crop_size}: expected 1..patch_size ({patch_size})")
        self.root = Path(root)
        self.mask_classes = {int(k): v for k, v in (mask_classes or {1: "tailings_dam"}).items()}
        if not 0.0 <= foreground_crops <= 1.0:
            raise MinegeoInputError(f"data.foreground_crops={foreground_crops}: expected a share from 0 to 1")
        self.crop_size, self.train_length, self.foreground_crops = crop_size, train_length, foreground_crops
        self.split_distance_px = split_distance_px or patch_size
        self.balance_places = balance_places
        self.train_places: np.ndarray = np.array([])
        self.fractions = dict(fractions or DEFAULT_FRACTIONS)
        self.kfold, self.fold, self.val_fraction = kfold, fold, val_fraction
        self.normalization = check_normalization(normalization, weights)
        self.weights = weights
        self.subsets: dict[str, Dataset] = {}

    def setup(self, stage: str | None = None) -> None:
        """Load the pairs, group them by place, split, and estimate train statistics (once)."""
        if self.preprocessing is not None:
            return
        dataset = MaskedPatches(
            self.root,
            bands=self.bands,
            patch_size=self.patch_size,
            mask_classes=self.mask_classes,
            class_names=self.class_names,
        )
        footprints = dataset.footprints()
        resolution_m = _median_pixel_size_m(list(footprints["path"]))
        groups = group_by_place(footprints, self.split_distance_px * resolution_m)
        splits = self._assign(groups)
        self.subsets = {s: Subset(dataset, np.flatnonzero(splits == s).tolist()) for s in SPLITS}
        self.train_places = groups[splits == "train"]
        self.preprocessing = self._preprocessing(self.subsets["train"], dataset.bands, resolution_m)
        if self.crop_size is not None:
            train, length = self.subsets["train"], self._train_length()
            self.subsets["train"] = RandomCrops(train, self.crop_size, length, self.foreground_crops)
        if self.run_dir is not None:
            table = pd.DataFrame({"path": footprints["path"], "group": groups, "split": splits})
            save_split(self.run_dir / "split.csv", table)
        self._save_stats()

    def _assign(self, groups: np.ndarray) -> np.ndarray:
        """Split name per patch: whole places per split, the k-fold test fold held out."""
        if self.kfold is None:  # a split of fraction 0 gets no place at all
            return assign_splits(groups, {k: v for k, v in self.fractions.items() if v > 0}, self.seed)
        folds = kfold_assign(groups, self.kfold, self.seed)
        splits = np.full(len(groups), "test", dtype=object)
        rest = folds != self.fold
        fractions = {"train": 1.0 - self.val_fraction, "val": self.val_fraction}
        splits[rest] = assign_splits(groups[rest], fractions, self.seed)
        return splits.astype(str)

    def _preprocessing(self, train: Dataset, bands: Sequence[str], resolution_m: float) -> Preprocessing:
        if self.normalization == "weights":
            assert self.weights is not None
            mean, std = weights_normalization(self.weights, bands)
            return Preprocessing(tuple(bands), mean, std, self.reflectance_scale, resolution_m)
        samples = (train[i]["image"] for i in range(len(train)))  # type: ignore[arg-type]
        return self._train_preprocessing(samples, bands, resolution_m)

    def _train_length(self) -> int:
        assert self.crop_size is not None
        if self.train_length is not None:
            return self.train_length
        patches = len(self.subsets["train"])  # type: ignore[arg-type]
        return max(1, round(patches * (self.patch_size / self.crop_size) ** 2))

    def _loader(self, split: str) -> DataLoader:
        generator = self._generator(split)
        dataset = self.subsets[split]
        balanced = split == "train" and self.balance_places
        sampler = self._place_sampler(dataset, generator) if balanced else None
        return DataLoader(
            dataset,
            shuffle=split == "train" and sampler is None,
            sampler=sampler,
            generator=generator,
            collate_fn=_collate_pairs,
            **self._loader_kwargs(),
        )

    def _place_sampler(self, dataset: Dataset, generator: torch.Generator) -> WeightedRandomSampler:
        """Draws each training sample with weight 1 / (train patches in its place)."""
        _, index, counts = np.unique(self.train_places, return_inverse=True, return_counts=True)
        patch_weights = 1.0 / counts[index]
        items = len(dataset)  # type: ignore[arg-type]
        # RandomCrops item i crops patch i % patches; a Subset's item i is patch i
        weights = patch_weights[np.arange(items) % len(patch_weights)]
        return WeightedRandomSampler(weights.tolist(), items, replacement=True, generator=generator)


class RandomCrops(Dataset[dict[str, Any]]):
    """``length`` random square crops of the samples of ``patches``, drawn afresh each time.

    Item ``i`` crops patch ``i % len(patches)`` at a random offset (torch's global
    generator, which Lightning seeds per worker), so each epoch sees every patch about
    equally often from new views. A share ``foreground`` of the crops is centred near a
    random foreground pixel (any class but background, never an ignored one), so a class
    that covers a few percent of the pixels is seen in most batches.
    """

    def __init__(
        self, patches: Dataset[dict[str, Any]], size: int, length: int, foreground: float = 0.0
    ) -> None:
        self.patches, self.size, self.length, self.foreground = patches, size, length, foreground

    def __len__(self) -> int:
        """Crops per epoch."""
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One random crop: ``image`` (C, size, size), ``mask`` (size, size), ``path``."""
        sample = self.patches[index % len(self.patches)]  # type: ignore[arg-type]
        top, left = self._corner(sample["mask"])
        rows, cols = slice(top, top + self.size), slice(left, left + self.size)
        return {**sample, "image": sample["image"][:, rows, cols], "mask": sample["mask"][rows, cols]}

    def _corner(self, mask: Tensor) -> tuple[int, int]:
        """Top-left of a random crop, around a foreground pixel for a share ``foreground`` of them."""
        height, width = mask.shape[-2:]
        foreground = torch.nonzero((mask > 0) & (mask != IGNORE_INDEX))
        if len(foreground) and float(torch.rand(())) < self.foreground:
            row, col = foreground[int(torch.randint(len(foreground), ()))].tolist()
            # where in the crop the pixel falls: anywhere, so crops do not centre on edges
            top, left = row - int(torch.randint(self.size, ())), col - int(torch.randint(self.size, ()))
            return min(max(top, 0), height - self.size), min(max(left, 0), width - self.size)
        return int(torch.randint(height - self.size + 1, ())), int(torch.randint(width - self.size + 1, ()))


def check_normalization(normalization: str, weights: str | None) -> Normalization:
    """Validate ``data.normalization`` against the model's weights.

    Raises:
        MinegeoInputError: for an unknown value, or ``weights`` without TorchGeo weights.
    """
    if normalization not in ("train_split", "weights"):
        raise MinegeoInputError(f"data.normalization={normalization}: expected train_split or weights")
    if normalization == "weights" and not (weights and is_torchgeo_name(weights)):
        raise MinegeoInputError(
            f"data.normalization=weights needs model.weights to name TorchGeo weights, got {weights}"
        )
    return normalization  # type: ignore[return-value]


def _collate_pairs(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "image": torch.stack([s["image"] for s in samples]),
        "mask": torch.stack([s["mask"] for s in samples]),
        "path": [s["path"] for s in samples],
    }


def _median_pixel_size_m(paths: Sequence[str]) -> float:
    """Median ground pixel size of the patches, in metres (truncated exports differ)."""
    sizes = []
    for path in paths:
        with open_raster(path) as src:
            sizes.append(pixel_size_m(src))
    return float(np.median(sizes))
