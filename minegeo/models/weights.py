"""Pretrained encoder weights: TorchGeo's Sentinel-2 weights by name, or a local state dict.

``model.weights=`` takes either a TorchGeo weights name such as
``ResNet18_Weights.SENTINEL2_RGB_MOCO`` (loaded through TorchGeo's ``WeightsEnum``: from the
torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file>``, when the file is there; TorchGeo
downloads it where a network exists) or the path of a local file holding a whole model's
or an encoder's state dict.

TorchGeo weights know their bands (``meta["bands"]``): the first convolution is rebuilt
in the data's band order, by name. Bands that one side has and the other lacks are
refused with one line, or, with ``band_mismatch="adapt"``, the data's extra bands start
from the mean of the pretrained kernels (and the weights' unused bands are dropped),
with a warning.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from minegeo.errors import MinegeoInputError

#: how to treat bands the data and the pretrained weights do not share
BandMismatch = Literal["refuse", "adapt"]
#: TorchGeo weight families whose state dicts are timm ResNets, as smp's ResNet encoders are
RESNET_FAMILIES = {
    "ResNet18_Weights": "resnet18",
    "ResNet50_Weights": "resnet50",
    "ResNet152_Weights": "resnet152",
}
#: datasets whose weights take Sentinel-2 digital numbers (reflectance x 10000) in their transforms
DN_INPUT_DATASETS = ("SSL4EO-S12",)
#: Sentinel-2 digital numbers per unit of reflectance
DN_PER_REFLECTANCE = 10000.0
_TORCHGEO_NAME = re.compile(r"^[A-Za-z0-9]+_Weights\.[A-Z0-9_]+$")


def is_torchgeo_name(weights: str) -> bool:
    """Whether ``weights`` names TorchGeo weights (``Family_Weights.MEMBER``) rather than a file."""
    return bool(_TORCHGEO_NAME.match(weights)) and not Path(weights).exists()


def torchgeo_weights(name: str) -> Any:
    """The TorchGeo ``WeightsEnum`` member called ``name``.

    Raises:
        MinegeoInputError: if TorchGeo has no such weights.
    """
    from torchgeo.models import get_weight

    try:
        return get_weight(name)
    except (ValueError, KeyError, AttributeError) as error:
        raise MinegeoInputError(
            f"model.weights={name}: TorchGeo has no such weights; expected e.g. "
            "ResNet18_Weights.SENTINEL2_RGB_MOCO or ResNet50_Weights.SENTINEL2_ALL_MOCO"
        ) from error


def canonical_band(name: str) -> str:
    """Band names as minegeo spells them: ``B04`` -> ``B4``, ``B8a`` -> ``B8A``."""
    match = re.fullmatch(r"[Bb]0*(\d+)([aA]?)", name.strip())
    return f"B{match.group(1)}{match.group(2).upper()}" if match else name.strip()


def weights_bands(weights: Any) -> tuple[str, ...]:
    """The bands a TorchGeo weights member was trained on, in its input order."""
    return tuple(canonical_band(str(band)) for band in weights.meta.get("bands") or ())


def load_encoder_weights(
    encoder: nn.Module,
    name: str,
    encoder_name: str,
    bands: Sequence[str] | None,
    band_mismatch: BandMismatch = "refuse",
) -> None:
    """Load TorchGeo weights ``name`` into an smp ResNet ``encoder`` for data of ``bands``.

    Args:
        encoder: the smp encoder (torchvision/timm ResNet keys).
        name: TorchGeo weights name.
        encoder_name: the smp encoder name, which must be the weights' architecture.
        bands: the data's band names in input order.
        band_mismatch: refuse, or adapt the first convolution, when the bands differ.

    Raises:
        MinegeoInputError: for weights that fit no smp encoder, a different encoder, no
            band names, refused band differences, or a file that cannot be had.
    """
    weights = torchgeo_weights(name)
    family = type(weights).__name__
    expected = RESNET_FAMILIES.get(family)
    if expected is None:
        raise MinegeoInputError(
            f"model.weights={name}: {family} fits no smp encoder; expected one of {sorted(RESNET_FAMILIES)}"
        )
    if encoder_name != expected:
        raise MinegeoInputError(f"model.weights={name} is a {expected}: expected model.encoder={expected}")
    if not bands:
        raise MinegeoInputError(
            f"model.weights={name}: the data's band names are needed to match the weights' bands "
            f"{list(weights_bands(weights))}; set data.bands"
        )
    state = _fetch_state_dict(weights, name)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    state["conv1.weight"] = first_conv_for_bands(
        state["conv1.weight"], weights_bands(weights), [canonical_band(b) for b in bands], band_mismatch, name
    )
    # nn.Module's own method: smp's encoders override it without returning the key lists
    missing, unexpected = nn.Module.load_state_dict(encoder, state, strict=False)
    if missing or unexpected:
        raise MinegeoInputError(
            f"model.weights={name}: does not fit encoder {encoder_name} "
            f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
        )


def _fetch_state_dict(weights: Any, name: str) -> dict[str, Tensor]:
    """TorchGeo's own loader: the hub cache when the file is there, else its download."""
    file = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        state: dict[str, Tensor] = weights.get_state_dict(progress=False)
    except OSError as error:  # urllib's URLError is an OSError: no file and no network
        raise MinegeoInputError(
            f"model.weights={name}: {file} is not there and could not be downloaded ({error}); "
            "download it where a network exists (see README, 'Pretrained encoders') and copy it there"
        ) from error
    return state


def first_conv_for_bands(
    kernel: Tensor,
    known: Sequence[str],
    wanted: Sequence[str],
    band_mismatch: BandMismatch,
    name: str,
) -> Tensor:
    """The first convolution's kernel with one input channel per wanted band, by name.

    Args:
        kernel: (out, len(known), k, k) pretrained kernel.
        known: the weights' bands, in kernel order.
        wanted: the data's bands, in input order.
        band_mismatch: ``refuse`` differing bands, or ``adapt`` (mean kernel for new bands).
        name: weights name, for messages.

    Returns:
        (out, len(wanted), k, k) kernel.

    Raises:
        MinegeoInputError: when bands differ and ``band_mismatch`` is ``refuse``.
    """
    lacking = [band for band in known if band not in wanted]
    extra = [band for band in wanted if band not in known]
    if lacking or extra:
        detail = f"the data lacks {lacking} and has {extra} that the weights do not know"
        if band_mismatch != "adapt":
            raise MinegeoInputError(
                f"model.weights={name} expects bands {list(known)}: {detail}; "
                "pass model.band_mismatch=adapt to adapt the first convolution"
            )
        warnings.warn(f"model.weights={name}: {detail}; adapting the first convolution", stacklevel=3)
    mean = kernel.mean(dim=1)
    channels = [kernel[:, known.index(band)] if band in known else mean for band in wanted]
    adapted = torch.stack(channels, dim=1)
    if extra or lacking:  # keep the first layer's response to a whole input about the same
        adapted = adapted * (len(known) / len(wanted))
    return adapted.contiguous()


def weights_normalization(name: str, bands: Sequence[str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-band mean and std, in reflectance, that reproduce the weights' own normalisation.

    TorchGeo's transforms chain ``Normalize`` steps on digital numbers (SSL4EO-S12:
    DN / 10000); their composition is one affine map per band, ``(x - mean) / std``,
    rewritten here for reflectance inputs (DN = reflectance x 10000).

    Args:
        name: TorchGeo weights name.
        bands: the data's band names in input order.

    Returns:
        (mean, std) per data band, in reflectance.

    Raises:
        MinegeoInputError: for weights whose inputs are not digital numbers, or bands the
            weights do not know.
    """
    weights = torchgeo_weights(name)
    dataset = str(weights.meta.get("dataset", ""))
    if dataset not in DN_INPUT_DATASETS:
        raise MinegeoInputError(
            f"model.weights={name} normalises {dataset} inputs that are not Sentinel-2 digital "
            "numbers; use data.normalization=train_split"
        )
    known = weights_bands(weights)
    scale, shift = _compose_normalize(weights.transforms, len(known))
    missing = [band for band in bands if canonical_band(band) not in known]
    if missing:
        raise MinegeoInputError(
            f"data.normalization=weights: {name} has no statistics for bands {missing}; "
            "use data.normalization=train_split"
        )
    index = [known.index(canonical_band(band)) for band in bands]
    # model input = DN * scale + shift = refl * (DN_PER_REFLECTANCE * scale) + shift
    std = tuple(float(1.0 / (DN_PER_REFLECTANCE * scale[i])) for i in index)
    mean = tuple(float(-shift[i] * s) for i, s in zip(index, std, strict=True))
    return mean, std


def _compose_normalize(transforms: Any, num_bands: int) -> tuple[Tensor, Tensor]:
    """``x -> x * scale + shift`` per band, composed from the Normalize steps of ``transforms``."""
    scale = torch.ones(num_bands, dtype=torch.float64)
    shift = torch.zeros(num_bands, dtype=torch.float64)
    for step in transforms.modules() if isinstance(transforms, nn.Module) else ():
        if type(step).__name__ != "Normalize":
            continue
        mean = torch.as_tensor(step.mean, dtype=torch.float64).flatten().expand(num_bands)
        std = torch.as_tensor(step.std, dtype=torch.float64).flatten().expand(num_bands)
        scale, shift = scale / std, (shift - mean) / std
    return scale, shift
