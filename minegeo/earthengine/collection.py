"""The Sentinel-2 composite every export takes its pixels from, as an Earth Engine expression.

The functions take the ``ee`` module as an argument instead of importing it, so a dry run
never loads Earth Engine and the tests can pass a recording fake that keeps the whole
expression tree for inspection.

Cloud masking, per image before the median:

- ``qa60``: drop pixels whose QA60 band has bit 10 (opaque clouds) or bit 11 (cirrus)
  set. (The paper's notebook tested bits 3 and 5, which QA60 never sets, so its mask kept
  every cloud.)
- ``cloud_score_plus``: link Cloud Score+ (``cs_cdf``, 1 = clear) by ``system:index`` and
  keep pixels whose score is at least the threshold.
- ``none``: no mask (the median alone removes transient clouds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from minegeo import SENTINEL2_BANDS
from minegeo.errors import MinegeoInputError

__all__ = [
    "CIRRUS_BIT",
    "CLOUD_SCORE_PLUS",
    "COLLECTIONS",
    "OPAQUE_BIT",
    "CompositeSpec",
    "cloud_masker",
    "composite",
]

#: Sentinel-2 collections the composite may start from (L1C top of atmosphere, L2A surface).
COLLECTIONS = ("COPERNICUS/S2_HARMONIZED", "COPERNICUS/S2_SR_HARMONIZED")
#: Cloud Score+ collection, with images sharing Sentinel-2's ``system:index``.
CLOUD_SCORE_PLUS = "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED"
#: QA60 bit for opaque clouds.
OPAQUE_BIT = 10
#: QA60 bit for cirrus clouds.
CIRRUS_BIT = 11
#: Every band a composite may carry (Sentinel-2 L1C/L2A spectral bands).
KNOWN_BANDS = (*SENTINEL2_BANDS, "B8A")
#: Digital numbers per unit reflectance in Sentinel-2 products.
REFLECTANCE_SCALE = 10_000

CloudMask = Literal["qa60", "cloud_score_plus", "none"]


@dataclass(frozen=True)
class CompositeSpec:
    """What goes into the composite: collection, dates, cloud handling and bands."""

    collection: str = COLLECTIONS[0]
    #: First day included (``YYYY-MM-DD``).
    start: str = "2019-01-01"
    #: First day excluded (``YYYY-MM-DD``).
    end: str = "2020-01-01"
    #: Scenes with more cloud than this (image metadata, percent) are left out.
    max_cloud_percentage: float = 20.0
    cloud_mask: CloudMask = "qa60"
    #: Least Cloud Score+ ``cs_cdf`` kept (0..1) when ``cloud_mask="cloud_score_plus"``.
    cs_threshold: float = 0.6
    bands: tuple[str, ...] = field(default=SENTINEL2_BANDS)

    def __post_init__(self) -> None:
        if self.collection not in COLLECTIONS:
            raise MinegeoInputError(
                f"collection.id {self.collection!r} is not supported; expected one of {COLLECTIONS}"
            )
        if self.cloud_mask not in ("qa60", "cloud_score_plus", "none"):
            raise MinegeoInputError(
                f"collection.cloud_mask {self.cloud_mask!r} is not valid; "
                "expected qa60, cloud_score_plus or none"
            )
        unknown = [band for band in self.bands if band not in KNOWN_BANDS]
        if unknown or not self.bands:
            raise MinegeoInputError(
                f"collection.bands {list(self.bands)} is not valid; expected a subset of {KNOWN_BANDS}"
            )
        if not 0 <= self.cs_threshold <= 1:
            raise MinegeoInputError(
                f"collection.cs_threshold {self.cs_threshold} is not valid; expected 0..1"
            )


def cloud_masker(ee: Any, spec: CompositeSpec) -> Any:
    """The per-image cloud mask function of ``spec.cloud_mask`` (None for ``none``).

    Args:
        ee: the Earth Engine module (or a fake).
        spec: the composite spec.

    Returns:
        a function ``ee.Image -> ee.Image`` for ``ImageCollection.map``, or None.
    """
    if spec.cloud_mask == "qa60":

        def mask_qa60(image: Any) -> Any:
            qa = image.select("QA60")
            clear = qa.bitwiseAnd(1 << OPAQUE_BIT).eq(0).And(qa.bitwiseAnd(1 << CIRRUS_BIT).eq(0))
            return image.updateMask(clear)

        return mask_qa60
    if spec.cloud_mask == "cloud_score_plus":

        def mask_cloud_score(image: Any) -> Any:
            return image.updateMask(image.select("cs_cdf").gte(spec.cs_threshold))

        return mask_cloud_score
    return None


def composite(ee: Any, spec: CompositeSpec, region: Any) -> Any:
    """Median composite of the cloud-masked scenes over ``region``, as float32 reflectance.

    Args:
        ee: the Earth Engine module (or a fake).
        spec: the composite spec.
        region: an ``ee.Geometry`` the scenes must touch.

    Returns:
        an ``ee.Image`` with ``spec.bands``, reflectance in 0..1 (DN / 10000), float32.
    """
    scenes = (
        ee.ImageCollection(spec.collection)
        .filterDate(spec.start, spec.end)
        .filterBounds(region)
        .filter(ee.Filter.lt("CLOUDY_PIXEL_PERCENTAGE", spec.max_cloud_percentage))
    )
    if spec.cloud_mask == "cloud_score_plus":
        scenes = scenes.linkCollection(ee.ImageCollection(CLOUD_SCORE_PLUS), ["cs_cdf"], None, "system:index")
    masker = cloud_masker(ee, spec)
    if masker is not None:
        scenes = scenes.map(masker)
    return scenes.select(list(spec.bands)).median().divide(REFLECTANCE_SCALE).toFloat()
