"""minegeo.datasets: Earth Engine composites, labels, patch folders, registries.

Names are re-exported lazily (PEP 562), so a light tool such as the export dry run can
read a registry without paying for TorchGeo's import.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Sentinel2Composite": "sentinel2",
    "MineLabels": "labels",
    "MaskedPatches": "labels",
    "read_vector_labels": "labels",
    "rasterize_labels": "labels",
    "PatchFolder": "patches",
    "BadRow": "registries",
    "RegistryTable": "registries",
    "parse_dms": "registries",
    "read_anm_dams": "registries",
    "read_concessions": "registries",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
