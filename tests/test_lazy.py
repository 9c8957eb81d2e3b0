"""Lazy re-exports: a name comes from its submodule; an unknown name is an AttributeError."""

from __future__ import annotations

import pytest

from minegeo import geo
from minegeo.lazy import lazy_exports


def test_the_names_are_sorted_and_read_from_their_submodule() -> None:
    names, attribute = lazy_exports("minegeo", {"geo": ("utm_epsg", "centre_utm_crs")})
    assert names == ["centre_utm_crs", "utm_epsg"]
    assert attribute("utm_epsg") is geo.utm_epsg


def test_an_unknown_name_is_an_attribute_error() -> None:
    _, attribute = lazy_exports("minegeo", {"geo": ("utm_epsg",)})
    with pytest.raises(AttributeError, match="module 'minegeo' has no attribute 'metres_per_degree'"):
        attribute("metres_per_degree")


def test_package_names_resolve_through_the_table() -> None:
    import minegeo.datasets

    assert minegeo.datasets.parse_dms("-19.5") == -19.5
    assert "parse_dms" in minegeo.datasets.__all__
