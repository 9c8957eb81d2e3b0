"""What every minegeo DataModule shares: preprocessing, on-device normalisation, augmentation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from minegeo import IGNORE_INDEX
from minegeo.bundle import Preprocessing
from minegeo.datamodules.augment import BatchAugmentation
from minegeo.datamodules.stats import band_statistics, save_stats
from minegeo.errors import MinegeoInputError

#: keyword arguments of :class:`BatchAugmentation` that ``augment`` may set
AUGMENTATION_KEYS = ("geometric", "contrast", "offset", "noise", "zoom", "rotate")


class MinegeoDataModule(LightningDataModule):
    """Base class: subclasses set ``preprocessing`` in ``setup`` from the train split.

    Batches leave the loaders as raw reflectance with NaN nodata and are normalised here,
    after the transfer to the device, so the GPU does the arithmetic. Nodata pixels become
    0 in the image and ``IGNORE_INDEX`` in a segmentation mask.

    Args:
        class_names: classes in label order.
        patch_size: side of the samples, pixels.
        bands: band names to read, in this order (default: all of the files' bands).
        reflectance_scale: factor from stored values to reflectance (1e-4 for uint16 DN);
            loaders yield stored values and the bundle's preprocessing applies it, on the
            device, as predict does.
        batch_size: samples per batch.
        num_workers: data loader worker processes.
        augment: ``True`` for flips and quarter turns of train batches, ``False`` for
            none, or the keyword arguments of :class:`BatchAugmentation`.
        seed: seed of splits, sampling and shuffling.
        run_dir: where to save the split and ``stats.json`` (None: not saved).
    """

    def __init__(
        self,
        class_names: Sequence[str],
        patch_size: int,
        bands: Sequence[str] | None = None,
        reflectance_scale: float = 1.0,
        batch_size: int = 16,
        num_workers: int = 0,
        augment: bool | Mapping[str, Any] = True,
        seed: int = 0,
        run_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.class_names = tuple(class_names)
        self.patch_size = patch_size
        self.bands = tuple(bands) if bands else None
        self.reflectance_scale = reflectance_scale
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.augmentation = make_augmentation(augment)
        self.seed = seed
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.preprocessing: Preprocessing | None = None
        self._train_generator: torch.Generator | None = None

    @property
    def num_bands(self) -> int:
        """Number of input bands (known after ``setup``)."""
        assert self.preprocessing is not None, "call setup() first"
        return len(self.preprocessing.bands)

    def _train_preprocessing(
        self, samples: Iterable[Tensor], bands: Sequence[str], resolution_m: float
    ) -> Preprocessing:
        """The bundle's preprocessing from the band statistics of train samples.

        Args:
            samples: (C, H, W) train images as the loaders yield them (stored values).
            bands: their band names.
            resolution_m: their pixel size.

        Returns:
            the preprocessing, its statistics taken on reflectance.
        """
        images = (image * self.reflectance_scale for image in samples)
        mean, std = band_statistics(images, num_bands=len(bands))
        return Preprocessing(tuple(bands), mean, std, self.reflectance_scale, resolution_m)

    def _save_stats(self) -> None:
        if self.run_dir is not None and self.preprocessing is not None:
            pre = self.preprocessing
            save_stats(self.run_dir / "stats.json", pre.bands, pre.mean, pre.std)

    def _loader_kwargs(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
        }

    def _loader(self, split: str) -> DataLoader:
        """The loader of one split; the train loader shuffles or draws at random."""
        raise NotImplementedError

    def _generator(self, split: str) -> torch.Generator:
        """The seeded generator of ``split``'s loader.

        The train generator is made once, so a train loader made again (Lightning's
        ``reload_dataloaders_every_n_epochs``) draws on instead of replaying the first
        epoch; the other splits get a fresh one each, so evaluating never moves training's.
        """
        if split != "train":
            return torch.Generator().manual_seed(self.seed)
        if self._train_generator is None:
            self._train_generator = torch.Generator().manual_seed(self.seed)
        return self._train_generator

    def train_dataloader(self) -> DataLoader:
        """Training batches (shuffled or randomly drawn, seeded)."""
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        """Validation batches, in a fixed order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test batches, in a fixed order."""
        return self._loader("test")

    def on_after_batch_transfer(self, batch: dict[str, Any], dataloader_idx: int) -> dict[str, Any]:
        """Normalise on the device; mark nodata as ignored; augment while training."""
        assert self.preprocessing is not None, "call setup() first"
        image, valid = self.preprocessing.normalize(batch["image"].float())
        batch["image"] = image
        if "mask" in batch:
            batch["mask"] = batch["mask"].long().masked_fill(~valid, IGNORE_INDEX)
        if self.augmentation is not None and self.trainer is not None and self.trainer.training:
            batch = self.augmentation(batch)
        return batch


def make_augmentation(augment: bool | Mapping[str, Any]) -> BatchAugmentation | None:
    """The train-batch augmentation ``augment`` asks for.

    Args:
        augment: ``True`` for flips and quarter turns, ``False`` for none, or the keyword
            arguments of :class:`BatchAugmentation` (``{geometric: true, contrast: 0.1}``).
    """
    if isinstance(augment, Mapping):
        unknown = sorted(set(augment) - set(AUGMENTATION_KEYS))
        if unknown:
            raise MinegeoInputError(
                f"data.augment has unknown keys {unknown}: expected some of {AUGMENTATION_KEYS}"
            )
        return BatchAugmentation(**augment)
    return BatchAugmentation() if augment else None
