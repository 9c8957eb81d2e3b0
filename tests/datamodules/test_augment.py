"""Batch augmentation: masks follow their images; radiometric jitter leaves masks alone."""

from __future__ import annotations

import pytest
import torch

from minegeo.datamodules.augment import BatchAugmentation
from minegeo.datamodules.base import make_augmentation
from minegeo.errors import MinegeoInputError


def _batch() -> dict[str, torch.Tensor]:
    image = torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    return {"image": image, "mask": (image[:, 0] > 0.3).long()}


def test_geometric_transforms_move_mask_with_image() -> None:
    torch.manual_seed(0)
    batch = BatchAugmentation()(_batch())
    assert torch.equal(batch["mask"], (batch["image"][:, 0] > 0.3).long())
    assert batch["mask"].dtype == torch.long


def test_geometric_transforms_are_drawn_per_sample() -> None:
    torch.manual_seed(0)
    original = _batch()
    same = torch.ones(1, 8, 8).expand(16, 8, 8) * torch.arange(64.0).view(1, 8, 8)
    out = BatchAugmentation()({"image": same.unsqueeze(1).clone(), "mask": original["mask"]})["image"]
    distinct = {tuple(view.flatten().tolist()) for view in out[:, 0]}
    assert len(distinct) > 2  # 16 samples, 8 dihedral views: several are drawn


def test_radiometric_jitter_changes_values_not_masks() -> None:
    torch.manual_seed(0)
    original = _batch()
    out = BatchAugmentation(geometric=False, contrast=0.2, offset=0.2, noise=0.1)(dict(original))
    assert not torch.allclose(out["image"], original["image"])
    assert torch.equal(out["mask"], original["mask"])


def test_augment_setting_validated() -> None:
    assert make_augmentation(False) is None
    assert isinstance(make_augmentation({"contrast": 0.1}), BatchAugmentation)
    with pytest.raises(MinegeoInputError, match=r"unknown keys \['hue'\]"):
        make_augmentation({"hue": 0.1})


def test_zoom_shows_a_window_of_the_sample_with_its_mask() -> None:
    torch.manual_seed(0)
    # a ramp whose value names its column: a zoomed view spans fewer columns, and its
    # mask (the ramp thresholded, ignored pixels kept) still matches its image
    ramp = torch.arange(32.0).expand(8, 1, 32, 32).clone()
    mask = (ramp[:, 0] >= 16).long()
    mask[:, :, :4] = 255
    out = BatchAugmentation(geometric=False, zoom=2.0)({"image": ramp, "mask": mask})
    spans = out["image"][:, 0].amax(dim=(1, 2)) - out["image"][:, 0].amin(dim=(1, 2))
    assert (spans < 31).all() and (spans > 31 / 2 - 1).all()  # a window of 1/2 to all of the side
    assert out["image"].amin() >= 0 and out["image"].amax() <= 31  # never outside the sample
    assert set(out["mask"].unique().tolist()) <= {0, 1, 255} and out["mask"].dtype == torch.long
    inside = out["mask"] != 255
    assert torch.equal(out["mask"][inside] == 1, out["image"][:, 0][inside] >= 15.5)


def test_rotation_turns_the_window_and_its_mask_alike() -> None:
    torch.manual_seed(0)
    # the column ramp again: turned views change along rows too, and every view's mask
    # (nearest pixel) still agrees with its image (bilinear reproduces a ramp exactly)
    ramp = torch.arange(32.0).expand(16, 1, 32, 32).clone()
    mask = (ramp[:, 0] >= 16).long()
    out = BatchAugmentation(geometric=False, rotate=True)({"image": ramp, "mask": mask})
    along_rows = (out["image"][:, 0, 1:] - out["image"][:, 0, :-1]).abs().mean(dim=(1, 2))
    along_cols = (out["image"][:, 0, :, 1:] - out["image"][:, 0, :, :-1]).abs().mean(dim=(1, 2))
    assert (along_rows > along_cols).any() and (along_cols > along_rows).any()
    assert out["image"].amin() >= 0 and out["image"].amax() <= 31  # never outside the sample
    assert torch.equal(out["mask"] == 1, out["image"][:, 0] >= 15.5)


def test_zoom_below_one_is_refused() -> None:
    with pytest.raises(MinegeoInputError, match=r"data.augment.zoom=0.5: expected 1 \(off\) or more"):
        make_augmentation({"zoom": 0.5})
