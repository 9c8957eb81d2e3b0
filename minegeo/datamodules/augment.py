"""Training augmentation applied to whole batches on the device (kornia), not per sample.

Overhead imagery has no up or left, so the geometric part draws one of the 8 dihedral
transforms per sample (flips and quarter turns), applied alike to the image and its mask.
A zoom shows each sample through a random window of its own, resized back to the full
side: the same ground at other scales, and never a pixel from outside the sample. With
rotation the window also turns by any angle (a turned window must be smaller to stay inside
the sample, so turning zooms in by up to sqrt(2) at 45 degrees).
The radiometric part imitates what differs between Sentinel-2 composites of different
places and years: a per-sample contrast gain, a per-band offset (haze, calibration)
and a little pixel noise, all in normalised units, so it works for any band count.
"""

from __future__ import annotations

from typing import Any

import kornia.augmentation as K
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from minegeo.errors import MinegeoInputError


class BatchAugmentation(nn.Module):
    """Random dihedral transforms and radiometric jitter of a normalised batch.

    Args:
        geometric: flips and 90-degree turns, alike for image and mask.
        contrast: standard deviation of the per-sample log contrast gain (0: off).
        offset: standard deviation of the per-sample, per-band offset, in units of the
            band's standard deviation (0: off).
        noise: standard deviation of per-pixel Gaussian noise, same units (0: off).
        zoom: largest zoom-in: each sample shows a random window of 1/zoom to all of its
            side, resized back (bilinear image, nearest mask); 1: off.
        rotate: turn each window by a random angle (0-360 degrees).
    """

    def __init__(
        self,
        geometric: bool = True,
        contrast: float = 0.0,
        offset: float = 0.0,
        noise: float = 0.0,
        zoom: float = 1.0,
        rotate: bool = False,
    ) -> None:
        super().__init__()
        if zoom < 1:
            raise MinegeoInputError(f"data.augment.zoom={zoom}: expected 1 (off) or more")
        self.contrast, self.offset, self.noise, self.zoom = contrast, offset, noise, zoom
        self.rotate = rotate
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
        if self.geometric is not None:
            batch = self._geometric(batch)
        if self.zoom > 1 or self.rotate:
            batch = self._window(batch)
        batch["image"] = self._radiometric(batch["image"])
        return batch

    def _window(self, batch: dict[str, Any]) -> dict[str, Any]:
        image: Tensor = batch["image"]
        size = image.shape[0]
        scale = 1 / torch.empty(size, device=image.device).uniform_(1, self.zoom)
        angle = torch.zeros(size, device=image.device)
        if self.rotate:
            angle.uniform_(0, 2 * torch.pi)
        cos, sin = torch.cos(angle), torch.sin(angle)
        # a window turned by the angle spans (|cos| + |sin|) times its side: shrink it to fit
        scale = torch.minimum(scale, 1 / (cos.abs() + sin.abs()))
        reach = scale * (cos.abs() + sin.abs())
        # the window's centre may move as far as keeps the window inside the sample
        shift = (torch.rand(size, 2, device=image.device) * 2 - 1) * (1 - reach)[:, None]
        theta = torch.zeros(size, 2, 3, device=image.device)
        theta[:, 0, 0], theta[:, 0, 1] = scale * cos, -scale * sin
        theta[:, 1, 0], theta[:, 1, 1] = scale * sin, scale * cos
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, list(image.shape), align_corners=False)
        batch["image"] = F.grid_sample(image, grid, mode="bilinear", align_corners=False)
        if "mask" in batch:
            mask = batch["mask"][:, None].float()
            mask = F.grid_sample(mask, grid, mode="nearest", align_corners=False)
            batch["mask"] = mask[:, 0].to(batch["mask"].dtype)
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
