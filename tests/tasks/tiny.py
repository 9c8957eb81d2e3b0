"""Tiny models and a tiny datamodule for task tests (importable, so bundles can rebuild them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import LightningDataModule, Trainer
from torch import Tensor, nn
from torch.utils.data import DataLoader

from minegeo.bundle import ModelGeometry, Preprocessing


class TinySegmenter(nn.Module):
    """(B, C, H, W) -> (B, n, H, W) logits."""

    def __init__(self, in_channels: int = 3, num_classes: int = 3) -> None:
        super().__init__()
        self.geometry = ModelGeometry()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, num_classes, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class TinyClassifier(nn.Module):
    """(B, C, 8, 8) -> (B, n, 1, 1) logits, like the discovery FCN on its own patch size."""

    def __init__(self, in_channels: int = 3, num_classes: int = 2) -> None:
        super().__init__()
        self.geometry = ModelGeometry(output_stride=8, receptive_field=8, offset=4.0)
        self.net = nn.Sequential(nn.Conv2d(in_channels, 4, 8), nn.ReLU(), nn.Conv2d(4, num_classes, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def model_config(model: nn.Module, **kwargs: Any) -> dict[str, Any]:
    """The Hydra node that rebuilds ``model``."""
    return {"_target_": f"{__name__}.{type(model).__name__}", **kwargs}


class TinyDataModule(LightningDataModule):
    """Random normalised samples; segmentation masks have some ignored (255) pixels."""

    def __init__(
        self,
        kind: str,
        class_names: Sequence[str],
        bands: Sequence[str] = ("B2", "B3", "B4"),
        patch_size: int = 8,
        num_samples: int = 8,
        batch_size: int = 4,
    ) -> None:
        super().__init__()
        self.class_names = tuple(class_names)
        self.patch_size = patch_size
        self.preprocessing = Preprocessing(
            bands=tuple(bands), mean=tuple(0.1 for _ in bands), std=tuple(0.05 for _ in bands)
        )
        generator = torch.Generator().manual_seed(0)
        n, size = len(self.class_names), patch_size
        images = torch.randn(num_samples, len(bands), size, size, generator=generator)
        if kind == "segmentation":
            masks = torch.randint(0, n, (num_samples, size, size), generator=generator)
            masks[:, 0, :] = 255
            self.samples = [{"image": i, "mask": m} for i, m in zip(images, masks, strict=True)]
        else:
            labels = torch.randint(0, n, (num_samples,), generator=generator)
            self.samples = [{"image": i, "label": label} for i, label in zip(images, labels, strict=True)]
        self.batch_size = batch_size

    def _loader(self) -> DataLoader:
        return DataLoader(self.samples, batch_size=self.batch_size)  # type: ignore[arg-type]

    def train_dataloader(self) -> DataLoader:
        return self._loader()

    def val_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()

    def predict_dataloader(self) -> DataLoader:
        return self._loader()


def make_trainer(**overrides: Any) -> Trainer:
    """One quick CPU epoch, no logger, no checkpoint files."""
    options: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": 1,
        "limit_train_batches": 2,
        "limit_val_batches": 1,
        "limit_test_batches": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    options.update(overrides)
    return Trainer(**options)
