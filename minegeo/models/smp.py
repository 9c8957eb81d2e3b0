"""Any segmentation_models_pytorch architecture, with its geometry and pretrained weights.

Nothing is downloaded by default: ``weights`` names TorchGeo's Sentinel-2 weights (read
from the torch hub cache; see :mod:`minegeo.models.weights`) or a local file holding
either the whole model's state dict or only the encoder's.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from minegeo.bundle import ModelGeometry
from minegeo.errors import MinegeoInputError
from minegeo.models.weights import BandMismatch, is_torchgeo_name, load_encoder_weights

#: smp model arguments smp_model sets itself (or that are not arguments)
_SET_HERE = frozenset({"self", "kwargs", "encoder_name", "encoder_weights", "in_channels", "classes"})


class SegmentationModel(nn.Module):
    """A per-pixel model with the geometry predict needs (stride 1, size multiple).

    With ``downsample`` k > 1 the network sees the input averaged over k x k pixels and
    its scores are upsampled bilinearly to the input's pixels: objects of tens of pixels
    (tailings ponds) lose almost nothing at a half or a quarter of the resolution, and a
    step costs about k² times less, so a small CPU budget buys more training
    (experiments/README.md).

    Args:
        model: the wrapped segmentation network, (B, C, H, W) -> (B, K, H, W).
        geometry: its input constraints, in input pixels.
        downsample: input pixels per network pixel along each axis.
    """

    model: nn.Module

    def __init__(self, model: nn.Module, geometry: ModelGeometry, downsample: int = 1) -> None:
        super().__init__()
        self.model = model
        self.geometry = geometry
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        """Per-pixel class scores: (B, C, H, W) -> (B, num_classes, H, W)."""
        if self.downsample == 1:
            out: Tensor = self.model(x)
            return out
        # (B, C, H, W) -> (B, C, H/k, W/k) -> (B, K, H/k, W/k) -> (B, K, H, W)
        coarse = self.model(F.avg_pool2d(x, self.downsample))
        return F.interpolate(coarse, scale_factor=self.downsample, mode="bilinear", align_corners=False)


def smp_model(
    arch: str = "Unet",
    encoder: str = "resnet18",
    in_channels: int = 12,
    num_classes: int = 3,
    encoder_depth: int | None = None,
    encoder_weights: str | None = None,
    weights: str | None = None,
    bands: Sequence[str] | None = None,
    band_mismatch: BandMismatch = "refuse",
    arch_args: Mapping[str, Mapping[str, Any]] | None = None,
    downsample: int = 1,
    **kwargs: Any,
) -> SegmentationModel:
    """Build a segmentation_models_pytorch model (Unet, FPN, DeepLabV3Plus, PSPNet, Segformer...).

    Args:
        arch: smp architecture name (any case).
        encoder: smp encoder name (``resnet18``, ``efficientnet-b0``, ``tu-...``).
        in_channels: input bands.
        num_classes: output classes.
        encoder_depth: encoder stages (3..5); None for the architecture's default.
        encoder_weights: smp pretrained-weight name; downloads, so ``None`` by default.
        weights: TorchGeo weights name (``ResNet18_Weights.SENTINEL2_RGB_MOCO``) or a local
            state dict of the whole model or of its encoder.
        bands: the data's band names in input order, matched against TorchGeo weights' bands.
        band_mismatch: bands the data and the weights do not share: ``refuse`` them, or
            ``adapt`` the first convolution (with a warning).
        arch_args: arguments of single architectures, by architecture name
            (``{"Unet": {"decoder_channels": [64, 32, 16]}}``); only ``arch``'s entry is
            used, so one config can sweep ``arch``.
        downsample: run the network at 1/``downsample`` of the input's resolution (input
            averaged, scores upsampled bilinearly); 1 for full resolution.
        **kwargs: further arguments of ``arch`` (``decoder_channels``, ...).

    Returns:
        the model wrapped with its ``geometry``.

    Raises:
        MinegeoInputError: for an unknown architecture or encoder, an argument the
            architecture does not take, a weights file that does not fit the model, or a
            ``downsample`` below 1.
    """
    import segmentation_models_pytorch as smp

    if int(downsample) != downsample or downsample < 1:
        raise MinegeoInputError(f"model.downsample={downsample}: expected a whole number >= 1")

    arguments = arch_arguments(arch, kwargs, arch_args)
    if encoder_depth is not None:
        arguments["encoder_depth"] = encoder_depth
    try:
        net = smp.create_model(
            arch,
            encoder_name=encoder,
            encoder_weights=encoder_weights,
            in_channels=in_channels,
            classes=num_classes,
            **arguments,
        )
    except (KeyError, ValueError) as error:
        raise MinegeoInputError(f"cannot build smp model arch={arch} encoder={encoder}: {error}") from error
    if weights is not None and is_torchgeo_name(weights):
        load_encoder_weights(net.encoder, weights, encoder, bands, band_mismatch)
    elif weights is not None:
        load_weights(net, weights)
    geometry = segmentation_geometry(net, in_channels)
    geometry = dataclasses.replace(
        geometry,
        size_multiple=geometry.size_multiple * downsample,
        min_size=geometry.min_size * downsample,
    )
    return SegmentationModel(net, geometry, int(downsample))


def arch_arguments(
    arch: str, kwargs: Mapping[str, Any], arch_args: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    """``arch``'s own arguments: ``kwargs`` and its ``arch_args`` entry, checked against its class.

    smp hands arguments its class does not name on to the encoder, which ignores them, so
    a misplaced argument would pass unnoticed. Every ``arch_args`` entry is checked, not
    only ``arch``'s, so a sweep over ``arch`` fails at its first run rather than its last.

    Raises:
        MinegeoInputError: naming the architecture and the argument it does not take.
    """
    for name, arguments in (arch_args or {}).items():
        _check_arguments(architecture(name, f"model.arch_args.{name}"), arguments, f"model.arch_args.{name}")
    _check_arguments(architecture(arch, "model.arch"), kwargs, "model")
    own = next((dict(a) for name, a in (arch_args or {}).items() if name.lower() == arch.lower()), {})
    return {**kwargs, **own}


def architecture(name: str, key: str) -> type[nn.Module]:
    """The smp model class called ``name`` (any case).

    Raises:
        MinegeoInputError: naming ``key`` and the architectures there are.
    """
    from segmentation_models_pytorch import MODEL_ARCHITECTURES_MAPPING

    found: type[nn.Module] | None = MODEL_ARCHITECTURES_MAPPING.get(str(name).lower())
    if found is None:
        names = ", ".join(cls.__name__ for cls in MODEL_ARCHITECTURES_MAPPING.values())
        raise MinegeoInputError(
            f"{key}: {name} is not a segmentation_models_pytorch architecture; expected {names}"
        )
    return found


def _check_arguments(cls: type[nn.Module], arguments: Mapping[str, Any], key: str) -> None:
    taken = [name for name in inspect.signature(cls.__init__).parameters if name not in _SET_HERE]
    for name in arguments:
        if name not in taken:
            raise MinegeoInputError(
                f"{key}.{name}: {cls.__name__} takes no argument {name}; expected one of {', '.join(taken)}"
            )


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
