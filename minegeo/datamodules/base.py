"""What every minegeo DataModule shares: preprocessing, on-device normalisation, augmentation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from minegeo.datamodules.stats import save_stats
from minegeo.tasks.bundle import Preprocessing

#: mask value for pixels that count nowhere (nodata, padding)
IGNORE_INDEX = 255


class MinegeoDataModule(LightningDataModule):
    """Base class: subclasses set ``preprocessing`` in ``setup`` from the train split.

    Batches leave the loaders as raw reflectance with NaN nodata and are normalised here,
    after the transfer to the device, so the GPU does the arithmetic. Nodata pixels become
    0 in the image and ``IGNORE_INDEX`` in a segmentation mask.
    """

    def __init__(
        self,
        class_names: Sequence[str],
        patch_size: int,
        batch_size: int = 16,
        num_workers: int = 0,
        augment: bool = True,
        seed: int = 0,
        run_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.class_names = tuple(class_names)
        self.patch_size = patch_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.augment = augment
        self.seed = seed
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.preprocessing: Preprocessing | None = None

    @property
    def num_bands(self) -> int:
        """Number of input bands (known after ``setup``)."""
        assert self.preprocessing is not None, "call setup() first"
        return len(self.preprocessing.bands)

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
        if self.augment and self.trainer is not None and self.trainer.training:
            batch = dihedral_augment(batch)
        return batch


def dihedral_augment(batch: dict[str, Any]) -> dict[str, Any]:
    """Random flip and 90° rotation per sample, applied alike to image and mask.

    Overhead imagery has no up or left, so the 8 dihedral transforms are all valid.
    """
    image: Tensor = batch["image"]
    mask: Tensor | None = batch.get("mask")
    images, masks = [], []
    for i in range(image.shape[0]):
        quarter_turns = int(torch.randint(4, (1,)))
        flip = bool(torch.randint(2, (1,)))
        images.append(_dihedral(image[i], quarter_turns, flip))
        if mask is not None:
            masks.append(_dihedral(mask[i], quarter_turns, flip))
    batch["image"] = torch.stack(images)
    if mask is not None:
        batch["mask"] = torch.stack(masks)
    return batch


def _dihedral(tensor: Tensor, quarter_turns: int, flip: bool) -> Tensor:
    tensor = torch.rot90(tensor, quarter_turns, dims=(-2, -1))
    return tensor.flip(-1) if flip else tensor
