"""Training augmentation applied to whole batches on the device (kornia), not per sample.

Overhead imagery has no up or left, so the geometric part draws one of the 8 dihedral
transforms per sample (flips and quarter turns), applied alike to the image and its mask.
The radiometric part imitates what differs between Sentinel-2 composites of different
places and years: a per-sample contrast gain, a per-band offset (haze, calibration)
and a little pixel noise, all in normalised units, so it works for any band count.
"""

from __future__ import annotations

from typing import Any

import kornia.augmentation as K
import torch
from torch import Tensor, nn


class BatchAugmentation(nn.Module):
    """Random dihedral transforms and radiometric jitter of a normalised batch.

    Args:
        geometric: flips and 90-degree turns, alike for image and mask.
        contrast: standard deviation of the per-sample log contrast gain (0: off).
        offset: standard deviation of the per-sample, per-band offset, in units of the
            band's standard deviation (0: off).
        noise: standard deviation of per-pixel Gaussian noise, same units (0: off).
    """

    def __init__(
        self, geometric: bool = True, contrast: float = 0.0, offset: float = 0.0, noise: float = 0.0
    ) -> None:
        super().__init__()
        self.contrast, self.offset, self.noise = contrast, offset, noise
        self.geometric = (
            K.AugmentationSequential(
                K.RandomHorizontalFlip(),
                K.RandomRotation90(times=(0, 3), p=1.0),
                data_keys=None,
            )
            if geometric
            else None
        )

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Augment ``batch["image"]`` (B, C, H, W) and, geometrically, ``batch["mask"]`` (B, H, W)."""
        image: Tensor = batch["image"]
        if self.geometric is not None:
            batch = self._geometric(batch)
            image = batch["image"]
        batch["image"] = self._radiometric(image)
        return batch

    def _geometric(self, batch: dict[str, Any]) -> dict[str, Any]:
        inputs: dict[str, Tensor] = {"image": batch["image"]}
        if "mask" in batch:
            # kornia moves masks with nearest-neighbour sampling; quarter turns are exact
            inputs["mask"] = batch["mask"].unsqueeze(1).float()
        assert self.geometric is not None
        out = self.geometric(inputs)
        batch["image"] = out["image"]
        if "mask" in batch:
            batch["mask"] = out["mask"].squeeze(1).round().to(batch["mask"].dtype)
        return batch

    def _radiometric(self, image: Tensor) -> Tensor:
        batch, bands = image.shape[:2]
        if self.contrast > 0:
            image = image * torch.exp(self.contrast * torch.randn(batch, 1, 1, 1, device=image.device))
        if self.offset > 0:
            image = image + self.offset * torch.randn(batch, bands, 1, 1, device=image.device)
        if self.noise > 0:
            image = image + self.noise * torch.randn_like(image)
        return image
