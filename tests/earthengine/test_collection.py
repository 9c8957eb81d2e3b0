"""The composite's Earth Engine expression, checked on a recording fake of ``ee``."""

from __future__ import annotations

from typing import Any

import pytest

from minegeo import SENTINEL2_L1C_BANDS, SENTINEL2_L2A_BANDS
from minegeo.earthengine.collection import CLOUD_SCORE_PLUS, CompositeSpec, collection_bands, composite
from minegeo.errors import MinegeoInputError
from tests.earthengine.fake_ee import FakeEE, FakeEEError, Traced, bands_of, calls_named, chain, step

L2A = "COPERNICUS/S2_SR_HARMONIZED"

MASKED = [
    "ImageCollection",
    "filterDate",
    "filterBounds",
    "filter",
    "map",
    "select",
    "median",
    "divide",
    "toFloat",
]


def build(fake_ee: FakeEE, **spec: object) -> tuple[Any, Any]:
    region = fake_ee.Geometry.Rectangle([-44.0, -20.1, -43.9, -20.0], "EPSG:4326", False)
    return composite(fake_ee, CompositeSpec(**spec), region), region  # type: ignore[arg-type]


def mapped(image: object) -> Traced:
    (traced,) = step(image, "map").args
    assert isinstance(traced, Traced)
    return traced


def test_default_composite_chain_masks_with_cloud_score_plus(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee)
    assert chain(image) == [*MASKED[:4], "linkCollection", *MASKED[4:]]


def test_qa60_composite_chain(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee, cloud_mask="qa60")
    assert chain(image) == MASKED


def test_collection_id_defaults_to_l1c_harmonized(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee)
    assert step(image, "ImageCollection").args == ("COPERNICUS/S2_HARMONIZED",)


def test_surface_reflectance_collection(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee, collection=L2A, bands=SENTINEL2_L2A_BANDS)
    assert step(image, "ImageCollection").args == (L2A,)


@pytest.mark.parametrize(
    ("collection", "bands"),
    [("COPERNICUS/S2_HARMONIZED", SENTINEL2_L1C_BANDS), (L2A, SENTINEL2_L2A_BANDS)],
)
def test_the_collection_decides_the_default_bands(collection: str, bands: tuple[str, ...]) -> None:
    assert collection_bands(collection) == bands
    assert collection_bands(collection, ["B4", "B3", "B2"]) == ("B4", "B3", "B2")  # named bands win


def test_an_unknown_collection_needs_its_bands_named() -> None:
    with pytest.raises(
        MinegeoInputError, match=r"^collection.id 'COPERNICUS/S2' has no band group; expected"
    ):
        collection_bands("COPERNICUS/S2")
    CompositeSpec(collection="COPERNICUS/S2", bands=collection_bands("COPERNICUS/S2", ["B8"]))


def test_a_band_the_collection_lacks_is_refused_before_earth_engine() -> None:
    bands = (*SENTINEL2_L2A_BANDS, "B10")
    with pytest.raises(
        MinegeoInputError, match=r"^collection.bands has B10, which COPERNICUS/S2_SR_HARMONIZED"
    ):
        CompositeSpec(collection=L2A, bands=bands)


@pytest.mark.parametrize(
    ("collection", "bands"),
    [("COPERNICUS/S2_HARMONIZED", SENTINEL2_L1C_BANDS), (L2A, SENTINEL2_L2A_BANDS)],
)
def test_the_default_bands_are_the_collections_own_in_the_fake(
    fake_ee: FakeEE, collection: str, bands: tuple[str, ...]
) -> None:
    image, _ = build(fake_ee, collection=collection, bands=collection_bands(collection))
    assert bands_of(image) == bands


def test_the_fake_fails_a_band_its_collection_lacks_as_earth_engine_does(fake_ee: FakeEE) -> None:
    image = fake_ee.ImageCollection(L2A).select(["B4", "B10"]).median()
    with pytest.raises(FakeEEError, match=r"^Image\.select: Pattern 'B10' did not match any bands\.$"):
        bands_of(image)


def test_filters_date_bounds_and_cloudy_pixel_percentage(fake_ee: FakeEE) -> None:
    image, region = build(fake_ee, start="2019-06-01", end="2019-09-01", max_cloud_percentage=5)
    assert step(image, "filterDate").args == ("2019-06-01", "2019-09-01")
    assert step(image, "filterBounds").args == (region,)
    (condition,) = step(image, "filter").args
    assert chain(condition) == ["lt"] and condition.receiver.path == "ee.Filter"
    assert condition.args == ("CLOUDY_PIXEL_PERCENTAGE", 5)


def test_qa60_mask_tests_opaque_and_cirrus_bits(fake_ee: FakeEE) -> None:
    traced = mapped(build(fake_ee, cloud_mask="qa60")[0])
    assert chain(traced.body) == ["updateMask"] and traced.body.receiver is traced.parameter
    assert [call.args for call in calls_named(traced.body, "select")] == [("QA60",)]
    assert sorted(call.args[0] for call in calls_named(traced.body, "bitwiseAnd")) == [1 << 10, 1 << 11]
    assert len(calls_named(traced.body, "Not")) == 1


def test_qa60_before_baseline_04_reads_qa60_only(fake_ee: FakeEE) -> None:
    body = mapped(build(fake_ee, cloud_mask="qa60", start="2021-01-01", end="2022-01-25")[0]).body
    assert [call.args for call in calls_named(body, "select")] == [("QA60",)]


@pytest.mark.parametrize(("start", "end"), [("2021-07-01", "2022-07-01"), ("2024-01-01", "2025-01-01")])
def test_qa60_from_baseline_04_falls_back_to_msk_classi_bands(fake_ee: FakeEE, start: str, end: str) -> None:
    body = mapped(build(fake_ee, cloud_mask="qa60", start=start, end=end)[0]).body
    selected = [call.args for call in calls_named(body, "select")]
    assert sorted(selected) == [("MSK_CLASSI_CIRRUS",), ("MSK_CLASSI_OPAQUE",), ("QA60",)]


def test_qa60_missing_or_empty_flag_bands_count_as_clear(fake_ee: FakeEE) -> None:
    body = mapped(build(fake_ee, cloud_mask="qa60", start="2024-01-01", end="2025-01-01")[0]).body
    (defaults,) = calls_named(body, "addBands")
    constant, names, overwrite = defaults.args
    assert constant.args == (["QA60", "MSK_CLASSI_OPAQUE", "MSK_CLASSI_CIRRUS"],)
    assert step(constant, "constant").args == ([0, 0, 0],)
    assert names is None and overwrite is False  # a band the scene has keeps its values
    assert [call.args for call in calls_named(body, "unmask")] == [(0,), (0,), (0,)]


def test_cloud_score_plus_links_by_system_index_and_thresholds_cs_cdf(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee, cloud_mask="cloud_score_plus", cs_threshold=0.65)
    assert chain(image)[:5] == ["ImageCollection", "filterDate", "filterBounds", "filter", "linkCollection"]
    link = step(image, "linkCollection")
    scores, bands, _, match = link.args
    assert scores.args == (CLOUD_SCORE_PLUS,) and bands == ["cs_cdf"] and match == "system:index"
    body = mapped(image).body
    assert [c.args for c in calls_named(body, "select")] == [("cs_cdf",)]
    assert [c.args for c in calls_named(body, "gte")] == [(0.65,)]
    assert not calls_named(image, "bitwiseAnd")


def test_no_mask_skips_map(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee, cloud_mask="none")
    assert chain(image) == [name for name in MASKED if name != "map"]


def test_bands_divide_and_float(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee)
    assert step(image, "select").args == (list(SENTINEL2_L1C_BANDS),)
    assert step(image, "divide").args == (10_000,)
    assert step(image, "toFloat").args == ()


def test_named_bands(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee, bands=("B4", "B3", "B2"))
    assert step(image, "select").args == (["B4", "B3", "B2"],)


def test_uint16_exports_digital_numbers_with_zero_kept_for_nodata(fake_ee: FakeEE) -> None:
    image, _ = build(fake_ee, dtype="uint16")
    assert chain(image)[-4:] == ["median", "round", "clamp", "toUint16"]
    assert step(image, "clamp").args == (1, 65535)
    assert not calls_named(image, "divide")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"collection": ""}, r"collection.id is empty"),
        ({"dtype": "int8"}, r"^dtype=int8: expected one of float32, uint16$"),
        ({"cloud_mask": "bits35"}, r"collection.cloud_mask 'bits35' is not valid"),
        ({"bands": ("B2", "B13")}, r"collection.bands \['B2', 'B13'\] is not valid"),
        ({"cs_threshold": 1.5}, r"collection.cs_threshold 1.5 is not valid"),
        ({"start": "2020-01-01", "end": "2019-01-01"}, r"collection.start '2020-01-01' and end"),
        ({"end": "2019-13-01"}, r"expected dates YYYY-MM-DD with start before end"),
    ],
)
def test_invalid_spec_is_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(MinegeoInputError, match=message):
        CompositeSpec(**spec)  # type: ignore[arg-type]
