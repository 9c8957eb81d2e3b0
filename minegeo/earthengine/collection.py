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

Bands: the collection's own band group by default (L1C: all 13; L2A has no B10), or any
subset named. Values: float32 reflectance (DN / 10000), or ``uint16`` digital numbers as
Sentinel-2 stores them, half the bytes; the manifest records each task's scale and nodata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from minegeo import BAND_GROUPS, SENTINEL2_L1C_BANDS
from minegeo.errors import MinegeoInputError

__all__ = [
    "CIRRUS_BIT",
    "CLOUD_SCORE_PLUS",
    "COLLECTIONS",
    "COLLECTION_BANDS",
    "ENCODINGS",
    "OPAQUE_BIT",
    "CompositeSpec",
    "Encoding",
    "cloud_masker",
    "collection_bands",
    "composite",
    "flag_bands",
]

#: The band group (``conf/bands/``) of each Sentinel-2 collection minegeo knows: L1C top of
#: atmosphere holds all 13 bands, L2A surface reflectance all but B10 (cirrus).
COLLECTION_BANDS = {"COPERNICUS/S2_HARMONIZED": "l1c", "COPERNICUS/S2_SR_HARMONIZED": "l2a"}
#: Collections whose bands minegeo knows; any other needs ``collection.bands``.
COLLECTIONS = tuple(COLLECTION_BANDS)
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
KNOWN_BANDS = SENTINEL2_L1C_BANDS
#: Digital numbers per unit reflectance in Sentinel-2 products.
REFLECTANCE_SCALE = 10_000

CloudMask = Literal["qa60", "cloud_score_plus", "none"]
ExportDtype = Literal["float32", "uint16"]


@dataclass(frozen=True)
class Encoding:
    """How an export stores reflectance: ``reflectance = value * value_scale + value_offset``."""

    dtype: ExportDtype
    bytes_per_value: int
    value_scale: float
    value_offset: float = 0.0
    #: The value of pixels without a clear view (None: Earth Engine's default, undeclared).
    nodata: float | None = None


#: The encodings an export may use: reflectance, or digital numbers in half the bytes.
ENCODINGS: dict[str, Encoding] = {
    "float32": Encoding("float32", 4, 1.0),
    "uint16": Encoding("uint16", 2, 1 / REFLECTANCE_SCALE, nodata=0),
}


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
    #: The exported bands (`collection_bands` gives the collection's own).
    bands: tuple[str, ...] = field(default=BAND_GROUPS["l1c"])
    dtype: ExportDtype = "float32"

    def __post_init__(self) -> None:
        if not self.collection:
            raise MinegeoInputError("collection.id is empty; expected an Earth Engine collection id")
        if self.dtype not in ENCODINGS:
            raise MinegeoInputError(f"dtype={self.dtype}: expected one of {', '.join(ENCODINGS)}")
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
        _check_collection_has(self.collection, self.bands)
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


def collection_bands(collection: str, bands: Sequence[str] | None = None) -> tuple[str, ...]:
    """The bands to export: ``bands`` when given, else the collection's band group.

    Args:
        collection: the Earth Engine collection id.
        bands: the configured bands, or None for the collection's own.

    Returns:
        the band names, in export order.

    Raises:
        MinegeoInputError: for an unknown collection and no bands.
    """
    if bands:
        return tuple(bands)
    group = COLLECTION_BANDS.get(collection)
    if group is None:
        raise MinegeoInputError(
            f"collection.id {collection!r} has no band group; expected collection.bands=[...] "
            f"or a collection of {list(COLLECTIONS)}"
        )
    return BAND_GROUPS[group]


def _check_collection_has(collection: str, bands: Sequence[str]) -> None:
    """Refuse bands a known collection lacks, before Earth Engine fails every task on them."""
    group = COLLECTION_BANDS.get(collection)
    lacking = [band for band in bands if group is not None and band not in BAND_GROUPS[group]]
    if lacking:
        raise MinegeoInputError(
            f"collection.bands has {','.join(lacking)}, which {collection} ({group}) lacks; "
            f"expected some of {','.join(BAND_GROUPS[str(group)])} (or collection.bands=null for all)"
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
    """Median composite of the cloud-masked scenes over ``region``, in ``spec.dtype``.

    Args:
        ee: the Earth Engine module (or a fake).
        spec: the composite spec.
        region: an ``ee.Geometry`` the scenes must touch.

    Returns:
        an ``ee.Image`` with ``spec.bands``: float32 reflectance in 0..1 (DN / 10000), or
        uint16 digital numbers 1..65535 (see `ENCODINGS`).
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
    median = scenes.select(list(spec.bands)).median()
    if spec.dtype == "uint16":
        # 0 is the nodata value; a valid pixel at DN 0 (the harmonised collections shift
        # newer scenes' DN down and clip at 0) stays valid as 1, i.e. 1e-4 reflectance.
        return median.round().clamp(1, 65535).toUint16()
    return median.divide(REFLECTANCE_SCALE).toFloat()
