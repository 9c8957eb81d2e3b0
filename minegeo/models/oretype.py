"""The paper's ore-type (impact) classifier (Balaniuk et al. 2020, Table 3).

Two blocks of conv 2x2 + ReLU + max-pool 2, a dense layer of 1024 with dropout, and the
class scores. The paper's 2,373,219 parameters (21x21x12 input, 3 classes) pin down the
Keras ``padding="same"`` convention for both convolutions and pools: 21 -> 21 -> 11 ->
11 -> 6, so the dense layer sees 6 * 6 * 64 = 2,304 features. (Valid padding would give
4 * 4 * 64 and 1,062,499 parameters.) Keras "same" pads an even kernel after the data,
which is a one-pixel zero pad on the right and bottom for convolutions and ``ceil_mode``
for pools.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from minegeo.bundle import ModelGeometry


class OreTypeCNN(nn.Module):
    """Impact-class CNN of the paper (high_impact, low_impact, no_ore) on small windows.

    Args:
        in_channels: input bands (12 for Sentinel-2).
        num_classes: output classes (3).
        patch_size: side of the square input window (21 px in the paper).
        dropout: dropout after the dense layer.
    """

    def __init__(
        self, in_channels: int = 12, num_classes: int = 3, patch_size: int = 21, dropout: float = 0.5
    ) -> None:
        super().__init__()
        side = math.ceil(math.ceil(patch_size / 2) / 2)
        self.features = nn.Sequential(
            nn.ZeroPad2d((0, 1, 0, 1)),
            nn.Conv2d(in_channels, 32, 2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.ZeroPad2d((0, 1, 0, 1)),
            nn.Conv2d(32, 64, 2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * side * side, 1024),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(1024, num_classes),
        )
        self.geometry = ModelGeometry(
            output_stride=patch_size,
            receptive_field=patch_size,
            offset=patch_size / 2,
            size_multiple=1,
            min_size=patch_size,
        )

    def forward(self, x: Tensor) -> Tensor:
        """Class scores (logits) of each window.

        Args:
            x: (B, C, patch, patch) normalised bands.

        Returns:
            (B, num_classes) logits.
        """
        x = self.features(x)  # (B, C, 21, 21) -> (B, 64, 6, 6)
        return self.classifier(x)  # -> (B, num_classes)
