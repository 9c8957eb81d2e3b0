"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package whose submodules import heavy libraries (TorchGeo, geopandas) names its
public objects in a table and imports a submodule only when one of its names is first
used, so a light tool can import one submodule without paying for the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any]]:
    """A package's ``__all__`` and a module ``__getattr__`` that imports a submodule on first use.

    Args:
        package: the package's ``__name__``.
        modules: submodule (relative to ``package``) -> the public names it defines.

    Returns:
        (``__all__``, ``__getattr__``): the names, sorted, and the function that finds them.
    """
    where = {name: module for module, names in modules.items() for name in names}

    def attribute(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    return sorted(where), attribute
