"""The paper's discovery network (Balaniuk et al. 2020, Table 2), fully convolutional.

Three blocks of conv 3x3 + ReLU + max-pool 3 bring a patch down by 27; a k x k
convolution (k = ceil((patch - 32) / 27), 7 for 201 px) turns the remaining grid into one
cell, and a 1x1 convolution gives the class scores. On a larger input the same weights
give a dense grid of cells at stride 27, which is how predict slides it over a scene.

Two paddings, the same 259,810 parameters for 12 bands, 2 classes and 201 px patches:

- ``"same"`` (the paper's Keras replica): the 3x3 convolutions zero-pad, a 201 px patch
  gives 1x1. Every output cell depends on 215 input pixels, from 13 before its window to
  1 after it, so the cell's receptive-field centre sits 6 px before the window centre.
  The dense pass over a scene is *not* the model applied to each 201 px window: inside a
  lone window, every layer pads its borders with zeros, whereas the dense pass sees the
  real neighbouring pixels there. No fully convolutional construction can reproduce that,
  because the zeros of one window lie where the next window has data; only evaluating
  every window on its own (55 times the work) does.
- ``"valid"`` (exactly translation-equivariant): no padding, a 215 px window gives 1x1,
  and the dense pass over a scene equals the model applied to every 215 px window at
  stride 27, to rounding.
"""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor, nn

from minegeo.bundle import ModelGeometry

#: input pixels per output cell: three max-pools of 3
FCN_STRIDE = 27


class DiscoveryFCN(nn.Module):
    """Mine / not-mine discovery FCN of the paper (Table 2).

    Args:
        in_channels: input bands (12 for Sentinel-2).
        num_classes: output classes (2: mine, not_mine).
        patch_size: side of the training patches; sets the last kernel size.
        padding: ``"same"`` (paper replica) or ``"valid"`` (exactly dense == per window).
        dropout: dropout before the classifier.
    """

    def __init__(
        self,
        in_channels: int = 12,
        num_classes: int = 2,
        patch_size: int = 201,
        padding: Literal["same", "valid"] = "same",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        pad = 1 if padding == "same" else 0
        self.kernel = math.ceil((patch_size - 32) / FCN_STRIDE)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=pad),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3),
            nn.Conv2d(32, 64, 3, padding=pad),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3),
            nn.Conv2d(64, 64, 3, padding=pad),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3),
            nn.Conv2d(64, 64, self.kernel),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv2d(64, num_classes, 1)
        self.geometry = fcn_geometry(self.kernel, padding)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores (logits) on the dense grid of cells.

        Args:
            x: (B, C, H, W) normalised bands.

        Returns:
            (B, num_classes, H', W') logits, H' = geometry.output_size(H) for ``"valid"``.
        """
        x = self.features(x)  # (B, C, H, W) -> (B, 64, H/27 - k + 1, W/27 - k + 1)
        return self.classifier(self.dropout(x))  # -> (B, num_classes, H', W')


def fcn_geometry(kernel: int, padding: Literal["same", "valid"]) -> ModelGeometry:
    """Output grid of the discovery FCN, in input pixels.

    The receptive field is 53 px after the three blocks plus 27 px per extra row of the
    last kernel. Without padding, cell 0 summarises pixels [0, rf). With "same" padding
    each 3x3 convolution reaches one cell before its pooling grid (1, 3 and 9 px), so cell
    0 summarises [-13, rf - 13): its centre is 13 px earlier.

    Args:
        kernel: side of the last convolution.
        padding: the convolutions' padding.

    Returns:
        the geometry predict uses to place each cell.
    """
    receptive_field = 53 + (kernel - 1) * FCN_STRIDE
    lead = 13 if padding == "same" else 0
    # "same": pools floor each side to a multiple of 27, then the k x k conv needs k cells.
    min_size = FCN_STRIDE * kernel if padding == "same" else receptive_field
    return ModelGeometry(
        output_stride=FCN_STRIDE,
        receptive_field=receptive_field,
        offset=receptive_field / 2 - lead,
        size_multiple=1,
        min_size=min_size,
    )
