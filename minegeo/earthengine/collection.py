"""The Sentinel-2 composite every export takes its pixels from, as an Earth Engine expression.

The functions take the ``ee`` module as an argument instead of importing it, so a dry run
never loads Earth Engine and the tests can pass a recording fake that keeps the whole
expression tree for inspection.

Cloud masking, per image before the median:

- ``cloud_score_plus`` (default, as Amazon Mining Watch uses): link Cloud Score+
  (``cs_cdf``, 1 = clear) by ``system:index`` and keep pixels whose score is at least the
  threshold. It covers the whole archive alike, so every period is masked the same way.
- ``qa60``: drop pixels flagged as opaque clouds or cirrus. Scenes processed before
  2022-01-25 carry the flags in QA60 bits 10 and 11; from processing baseline 04.00 on,
  QA60 is empty (and in newer scenes absent) and ``MSK_CLASSI_OPAQUE`` /
  ``MSK_CLASSI_CIRRUS`` carry them. A period reaching past that day therefore reads both,
  each missing band counting as "no flag" and each masked pixel as clear, so the mask
  works on scenes of either kind. (The paper's notebook tested bits 3 and 5, which QA60
  never sets, so its mask kept every cloud.)
- ``none``: no mask (the median alone removes transient clouds).
"""

from __future__ import annotations

import datetime as dt
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
    "flag_bands",
]

#: Sentinel-2 collections the composite may start from (L1C top of atmosphere, L2A surface).
COLLECTIONS = ("COPERNICUS/S2_HARMONIZED", "COPERNICUS/S2_SR_HARMONIZED")
#: Cloud Score+ collection, with images sharing Sentinel-2's ``system:index``.
CLOUD_SCORE_PLUS = "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED"
#: QA60 bit for opaque clouds.
OPAQUE_BIT = 10
#: QA60 bit for cirrus clouds.
CIRRUS_BIT = 11
#: First day of Sentinel-2 processing baseline 04.00, whose scenes leave QA60 empty.
MSK_CLASSI_FROM = dt.date(2022, 1, 25)
#: Cloud flag bands of scenes processed from `MSK_CLASSI_FROM` on (0 clear, 1 flagged).
MSK_CLASSI_BANDS = ("MSK_CLASSI_OPAQUE", "MSK_CLASSI_CIRRUS")
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
    cloud_mask: CloudMask = "cloud_score_plus"
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
        try:
            ordered = dt.date.fromisoformat(self.start) < dt.date.fromisoformat(self.end)
        except ValueError:
            ordered = False
        if not ordered:
            raise MinegeoInputError(
                f"collection.start {self.start!r} and end {self.end!r} are not valid; "
                "expected dates YYYY-MM-DD with start before end"
            )
        if not 0 <= self.cs_threshold <= 1:
            raise MinegeoInputError(
                f"collection.cs_threshold {self.cs_threshold} is not valid; expected 0..1"
            )


def flag_bands(spec: CompositeSpec) -> tuple[str, ...]:
    """The cloud flag bands the scenes of ``spec``'s dates may carry (``qa60`` mask).

    Args:
        spec: the composite spec (its ``end`` is the first day excluded).

    Returns:
        ``("QA60",)`` for dates wholly before `MSK_CLASSI_FROM`, else QA60 and the
        MSK_CLASSI bands.
    """
    if dt.date.fromisoformat(spec.end) <= MSK_CLASSI_FROM:
        return ("QA60",)
    return ("QA60", *MSK_CLASSI_BANDS)


def cloud_masker(ee: Any, spec: CompositeSpec) -> Any:
    """The per-image cloud mask function of ``spec.cloud_mask`` (None for ``none``).

    Args:
        ee: the Earth Engine module (or a fake).
        spec: the composite spec.

    Returns:
        a function ``ee.Image -> ee.Image`` for ``ImageCollection.map``, or None.
    """
    if spec.cloud_mask == "qa60":
        return _flag_masker(ee, flag_bands(spec))
    if spec.cloud_mask == "cloud_score_plus":

        def mask_cloud_score(image: Any) -> Any:
            return image.updateMask(image.select("cs_cdf").gte(spec.cs_threshold))

        return mask_cloud_score
    return None


def _flag_masker(ee: Any, bands: tuple[str, ...]) -> Any:
    """A mask dropping pixels any of ``bands`` flags as cloud, robust to missing bands.

    Zero-valued defaults are added without overwriting (``addBands(..., False)`` renames
    a default whose band exists), so a scene lacking a flag band reads "not flagged";
    ``unmask(0)`` does the same for the masked pixels of an empty QA60.
    """

    def mask_flags(image: Any) -> Any:
        flags = image.addBands(ee.Image.constant([0] * len(bands)).rename(list(bands)), None, False)
        qa = flags.select("QA60").unmask(0)
        cloudy = qa.bitwiseAnd(1 << OPAQUE_BIT).neq(0).Or(qa.bitwiseAnd(1 << CIRRUS_BIT).neq(0))
        for band in bands[1:]:
            cloudy = cloudy.Or(flags.select(band).unmask(0).neq(0))
        return image.updateMask(cloudy.Not())

    return mask_flags


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
