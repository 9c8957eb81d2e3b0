"""Any segmentation_models_pytorch architecture, with its geometry and pretrained weights.

Nothing is downloaded by default: ``weights`` names TorchGeo's Sentinel-2 weights (read
from the torch hub cache; see :mod:`minegeo.models.weights`) or a local file holding
either the whole model's state dict or only the encoder's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from minegeo.bundle import ModelGeometry
from minegeo.errors import MinegeoInputError
from minegeo.models.weights import BandMismatch, is_torchgeo_name, load_encoder_weights


class SegmentationModel(nn.Module):
    """A per-pixel model with the geometry predict needs (stride 1, size multiple).

    Args:
        model: the wrapped segmentation network, (B, C, H, W) -> (B, K, H, W).
        geometry: its input constraints.
    """

    model: nn.Module

    def __init__(self, model: nn.Module, geometry: ModelGeometry) -> None:
        super().__init__()
        self.model = model
        self.geometry = geometry

    def forward(self, x: Tensor) -> Tensor:
        """Per-pixel class scores: (B, C, H, W) -> (B, num_classes, H, W)."""
        out: Tensor = self.model(x)
        return out


def smp_model(
    arch: str = "Unet",
    encoder: str = "resnet18",
    in_channels: int = 12,
    num_classes: int = 3,
    encoder_weights: str | None = None,
    weights: str | None = None,
    bands: Sequence[str] | None = None,
    band_mismatch: BandMismatch = "refuse",
    **kwargs: Any,
) -> SegmentationModel:
    """Build a segmentation_models_pytorch model (Unet, FPN, DeepLabV3Plus, PSPNet, Segformer...).

    Args:
        arch: smp architecture name.
        encoder: smp encoder name (``resnet18``, ``efficientnet-b0``, ``tu-...``).
        in_channels: input bands.
        num_classes: output classes.
        encoder_weights: smp pretrained-weight name; downloads, so ``None`` by default.
        weights: TorchGeo weights name (``ResNet18_Weights.SENTINEL2_RGB_MOCO``) or a local
            state dict of the whole model or of its encoder.
        bands: the data's band names in input order, matched against TorchGeo weights' bands.
        band_mismatch: bands the data and the weights do not share: ``refuse`` them, or
            ``adapt`` the first convolution (with a warning).
        **kwargs: passed on to ``smp.create_model`` (``decoder_channels``, ...).

    Returns:
        the model wrapped with its ``geometry``.

    Raises:
        MinegeoInputError: for an unknown architecture/encoder or a weights file that
            does not fit the model.
    """
    import segmentation_models_pytorch as smp

    try:
        net = smp.create_model(
            arch,
            encoder_name=encoder,
            encoder_weights=encoder_weights,
            in_channels=in_channels,
            classes=num_classes,
            **kwargs,
        )
    except (KeyError, ValueError) as error:
        raise MinegeoInputError(f"cannot build smp model arch={arch} encoder={encoder}: {error}") from error
    if weights is not None and is_torchgeo_name(weights):
        load_encoder_weights(net.encoder, weights, encoder, bands, band_mismatch)
    elif weights is not None:
        load_weights(net, weights)
    return SegmentationModel(net, segmentation_geometry(net, in_channels))


def segmentation_geometry(net: nn.Module, in_channels: int) -> ModelGeometry:
    """Geometry of a per-pixel model: the smallest size multiple that keeps shapes.

    The encoder's output stride is the lower bound; some decoders need more (PAN: twice
    the encoder's), so candidates are tried on a tiny zero input in eval mode.
    """
    stride = int(getattr(getattr(net, "encoder", None), "output_stride", 32))
    was_training = net.training
    net.eval()
    multiple = stride
    with torch.no_grad():
        for candidate in (stride, 2 * stride, 4 * stride):
            if _keeps_shape(net, in_channels, candidate):
                multiple = candidate
                break
    net.train(was_training)
    return ModelGeometry(
        output_stride=1, receptive_field=1, offset=0.5, size_multiple=multiple, min_size=multiple
    )


def _keeps_shape(net: nn.Module, in_channels: int, multiple: int) -> bool:
    height, width = 2 * multiple, 3 * multiple
    try:
        out = net(torch.zeros(1, in_channels, height, width))
    except (RuntimeError, ValueError):
        return False
    return tuple(out.shape[-2:]) == (height, width)


def load_weights(net: nn.Module, path: str | Path) -> None:
    """Load a local state dict into ``net``, or into its encoder when that is what it holds.

    Accepts a bare state dict, a Lightning checkpoint (``state_dict`` entry) and keys
    with a ``model.`` or ``encoder.`` prefix.

    Raises:
        MinegeoInputError: naming the file when it is unreadable or fits neither.
    """
    path = Path(path)
    if not path.is_file():
        raise MinegeoInputError(f"{path}: weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file
        raise MinegeoInputError(f"{path}: not a readable weights file ({error})") from error
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise MinegeoInputError(f"{path}: expected a state dict, got {type(state).__name__}")
    for prefix in ("", "model.", "model.model."):
        if _try_load(net, _strip(state, prefix)):
            return
    encoder = getattr(net, "encoder", None)
    for prefix in ("", "encoder.", "model.encoder.", "model.model.encoder."):
        if encoder is not None and _try_load(encoder, _strip(state, prefix)):
            return
    raise MinegeoInputError(
        f"{path}: weights fit neither the model nor its encoder "
        f"(first keys {sorted(state)[:3]}; expected e.g. {sorted(net.state_dict())[:3]})"
    )


def _strip(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}


def _try_load(module: nn.Module, state: dict[str, Any]) -> bool:
    expected = module.state_dict()
    if not state or set(state) != set(expected):
        return False
    if any(tuple(state[key].shape) != tuple(expected[key].shape) for key in expected):
        return False
    module.load_state_dict(state)
    return True
