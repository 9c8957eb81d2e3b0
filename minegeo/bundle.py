"""The checkpoint bundle: everything predict needs besides the weights.

A Lightning checkpoint written by a minegeo task carries a ``"minegeo"`` entry (the
:class:`Bundle` as plain data) next to the usual ``state_dict``. Predict rebuilds the
model and its preprocessing from that alone and refuses inputs that do not match it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from minegeo.errors import MinegeoInputError

BUNDLE_KEY = "minegeo"
BUNDLE_VERSION = 1
#: model-config keys naming a pretrained source; a bundle never keeps them, since its
#: state dict already holds the trained weights (predict must not need the source)
PRETRAINED_KEYS = ("weights", "weights_path", "encoder_weights")


@dataclass(frozen=True)
class ModelGeometry:
    """Where each output cell of a model lies in its input, in input pixels.

    A segmentation model maps pixel to pixel (stride 1, offset 0.5). The discovery FCN
    maps each 201 px window at stride 27 to one cell whose centre is the window centre.
    """

    #: input pixels per output cell along each axis
    output_stride: int = 1
    #: side of the input window that one output cell summarises
    receptive_field: int = 1
    #: input-pixel coordinate (pixel edges at integers) of the centre of output cell 0
    offset: float = 0.5
    #: input height and width must be a multiple of this (U-Net: 32); 1 for none
    size_multiple: int = 1
    #: smallest input side the model accepts
    min_size: int = 1

    def output_size(self, input_size: int) -> int:
        """Number of output cells along an axis of ``input_size`` input pixels."""
        if self.output_stride == 1:
            return input_size
        return (input_size - self.receptive_field) // self.output_stride + 1


@dataclass(frozen=True)
class Preprocessing:
    """How raw raster values become model input.

    ``model_input = (raw * reflectance_scale - mean) / std`` per band; nodata pixels (NaN
    or ``nodata``) are set to 0 after normalisation and reported in a validity mask.
    """

    #: band names in the order the model expects them
    bands: tuple[str, ...]
    #: per-band mean of reflectance over the train split (nodata skipped)
    mean: tuple[float, ...]
    #: per-band standard deviation of reflectance over the train split
    std: tuple[float, ...]
    #: factor from stored values to reflectance (1.0 for EE float32, 1e-4 for uint16 DN)
    reflectance_scale: float = 1.0
    #: ground resolution the model was trained at, metres per pixel
    resolution_m: float = 10.0

    def normalize(self, raw: Tensor, nodata: float | None = None) -> tuple[Tensor, Tensor]:
        """Normalise a (B, C, H, W) or (C, H, W) tensor; returns (input, valid mask).

        The valid mask has the input's shape without the band axis: a pixel is valid when
        every band is finite and differs from ``nodata``. ``raw`` is left as it is.
        """
        channel_axis = raw.dim() - 3
        invalid = ~torch.isfinite(raw)
        if nodata is not None and not _is_nan(nodata):
            invalid |= raw == nodata
        model_input = raw.masked_fill(invalid, float("nan"))
        return self.normalize_(model_input), ~invalid.any(dim=channel_axis)

    def normalize_(self, raw: Tensor, scale: Tensor | None = None, offset: Tensor | None = None) -> Tensor:
        """Normalise a (B, C, H, W) or (C, H, W) tensor in place; NaN (nodata) and infinities become 0.

        Training and predict both come through here, so a scene is normalised exactly as
        the patches were. ``raw * scale + offset`` is reflectance; without them, the
        training data's ``reflectance_scale``. One multiply and one add, without
        temporaries: for a light model such as the FCN the normalisation's passes over the
        batch cost as much as a layer.
        """
        shape = [1] * raw.dim()
        shape[raw.dim() - 3] = len(self.bands)
        mean = torch.tensor(self.mean, dtype=torch.float64)
        std = torch.tensor(self.std, dtype=torch.float64)
        scale64 = torch.full_like(mean, self.reflectance_scale) if scale is None else scale.double().cpu()
        offset64 = torch.zeros_like(mean) if offset is None else offset.double().cpu()
        factor = (scale64 / std).to(raw.dtype).to(raw.device).view(shape)
        shift = ((offset64 - mean) / std).to(raw.dtype).to(raw.device).view(shape)
        return raw.mul_(factor).add_(shift).nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True)
class Calibration:
    """Post-hoc calibration of the logits: ``logits / temperature + bias`` (per class).

    Fitted on validation pixels after training (:mod:`minegeo.tasks.calibration`), so that
    the probabilities predict writes mean what they say: 0.5 is the operating point.
    The identity (temperature 1, no bias) for uncalibrated checkpoints.
    """

    temperature: float = 1.0
    #: one additive term per class, or empty for none
    bias: tuple[float, ...] = ()

    @property
    def is_identity(self) -> bool:
        """Whether applying it changes nothing."""
        return self.temperature == 1.0 and not any(self.bias)

    def apply(self, logits: Tensor) -> Tensor:
        """Calibrated (B, K, ...) logits (class axis 1)."""
        if self.is_identity:
            return logits
        calibrated = logits / self.temperature
        if self.bias:
            shape = [1, len(self.bias)] + [1] * (logits.dim() - 2)
            calibrated = calibrated + torch.tensor(self.bias, dtype=logits.dtype, device=logits.device).view(
                shape
            )
        return calibrated


class CalibratedModel(nn.Module):
    """A model whose output logits pass through a :class:`Calibration`; keeps its geometry."""

    def __init__(self, model: nn.Module, calibration: Calibration) -> None:
        super().__init__()
        self.model, self.calibration = model, calibration
        self.geometry = getattr(model, "geometry", None)

    def forward(self, x: Tensor) -> Tensor:
        """Calibrated logits of the wrapped model."""
        return self.calibration.apply(self.model(x))


@dataclass(frozen=True)
class Bundle:
    """What a checkpoint knows about its model, data and classes."""

    #: "segmentation" (per-pixel classes) or "classification" (one class per window)
    kind: Literal["segmentation", "classification"]
    #: class names in output-channel order
    class_names: tuple[str, ...]
    #: side of the training patches, pixels
    patch_size: int
    preprocessing: Preprocessing
    geometry: ModelGeometry
    #: Hydra node (with ``_target_``) that rebuilds the model without weights
    model_config: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)
    version: int = BUNDLE_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_config", without_pretrained(self.model_config))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``checkpoint["minegeo"]``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bundle:
        """Inverse of :meth:`to_dict`."""
        pre = data["preprocessing"]
        return cls(
            kind=data["kind"],
            class_names=tuple(data["class_names"]),
            patch_size=int(data["patch_size"]),
            preprocessing=Preprocessing(
                bands=tuple(pre["bands"]),
                mean=tuple(pre["mean"]),
                std=tuple(pre["std"]),
                reflectance_scale=float(pre["reflectance_scale"]),
                resolution_m=float(pre["resolution_m"]),
            ),
            geometry=ModelGeometry(**data["geometry"]),
            model_config=dict(data["model_config"]),
            calibration=_calibration_from_dict(data.get("calibration")),
            version=int(data.get("version", BUNDLE_VERSION)),
        )

    def build_model(self) -> nn.Module:
        """A fresh, untrained model as the bundle describes it."""
        model: nn.Module = instantiate(self.model_config)
        return model


def without_pretrained(model_config: dict[str, Any]) -> dict[str, Any]:
    """``model_config`` with its pretrained-weights keys set to None (see :data:`PRETRAINED_KEYS`)."""
    return {key: None if key in PRETRAINED_KEYS else value for key, value in model_config.items()}


def _calibration_from_dict(data: dict[str, Any] | None) -> Calibration:
    if not data:
        return Calibration()
    return Calibration(float(data["temperature"]), tuple(float(b) for b in data.get("bias") or ()))


def save_bundle(path: str | Path, bundle: Bundle, model: nn.Module) -> None:
    """Write a checkpoint holding ``model``'s weights and ``bundle`` (used by tests and tools).

    Lightning tasks write the same layout through ``on_save_checkpoint``.
    """
    checkpoint = {
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        BUNDLE_KEY: bundle.to_dict(),
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(path)


def load_bundle(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[Bundle, nn.Module]:
    """Read a checkpoint; returns its bundle and the model with weights loaded, in eval mode.

    The model's logits pass through the bundle's calibration (when it is not the identity).

    Raises:
        MinegeoInputError: if the file is missing, unreadable or not a minegeo checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise MinegeoInputError(f"{path}: checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # torch raises many types for a bad file
        raise MinegeoInputError(f"{path}: not a readable checkpoint ({error})") from error
    if not isinstance(checkpoint, dict) or BUNDLE_KEY not in checkpoint:
        raise MinegeoInputError(f"{path}: not a minegeo checkpoint (no '{BUNDLE_KEY}' entry)")
    bundle = Bundle.from_dict(checkpoint[BUNDLE_KEY])
    model = bundle.build_model()
    prefix = "model."
    weights = {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    model.load_state_dict(weights)
    if not bundle.calibration.is_identity:
        model = CalibratedModel(model, bundle.calibration)
    model.eval()
    return bundle, model


def checkpoint_hash(path: str | Path) -> str:
    """First 16 hex digits of the checkpoint file's SHA-256 (tags outputs with their model)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _is_nan(value: float) -> bool:
    return value != value
