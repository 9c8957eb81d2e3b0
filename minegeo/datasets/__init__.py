"""minegeo.datasets: Earth Engine composites, labels, patch folders, registries.

Names are re-exported lazily (PEP 562), so a light tool such as the export dry run can
read a registry without paying for TorchGeo's import.
"""

from __future__ import annotations

from minegeo.lazy import lazy_exports

#: submodule -> the public names it defines
_MODULES = {
    "sentinel2": ("Sentinel2Composite",),
    "labels": ("MineLabels", "MaskedPatches", "read_vector_labels", "rasterize_labels"),
    "patches": ("PatchFolder",),
    "registries": ("BadRow", "RegistryTable", "parse_dms", "read_anm_dams", "read_concessions"),
}

__all__, __getattr__ = lazy_exports(__name__, _MODULES)
