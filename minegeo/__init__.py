"""minegeo: find surface mines and tailings dams in Sentinel-2 imagery."""

__version__ = "0.1.0"

#: Segmentation classes, in channel order (DESIGN.md, "Classes").
SEGMENTATION_CLASSES = ("background", "mine", "tailings_dam")
#: Mask value of pixels no loss or metric counts (nodata, padding, unlabelled): the
#: datasets write it, the losses and metrics skip it, evaluate ignores it in reference masks.
IGNORE_INDEX = 255
#: Discovery patch classes (the paper's two; dams count as mines).
DISCOVERY_CLASSES = ("mine", "not_mine")
#: Ore-type (impact) classes (the paper's three).
ORETYPE_CLASSES = ("high_impact", "low_impact", "no_ore")
#: Twelve L1C bands, B1..B12 without B8A: the names a 12-band file without band descriptions is read with.
SENTINEL2_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12")
#: All 13 Sentinel-2 L1C bands in ESA's order (B8A after B8), as TorchGeo's SENTINEL2_ALL weights take them.
SENTINEL2_L1C_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
#: The 12 Sentinel-2 L2A (surface reflectance) bands: L1C's without B10, the cirrus band.
SENTINEL2_L2A_BANDS = tuple(band for band in SENTINEL2_L1C_BANDS if band != "B10")
#: The band groups of ``conf/bands/`` (``bands=l2a``), by name.
BAND_GROUPS: dict[str, tuple[str, ...]] = {
    "l1c": SENTINEL2_L1C_BANDS,
    "l2a": SENTINEL2_L2A_BANDS,
    "rgb": ("B4", "B3", "B2"),
    "rgbn": ("B4", "B3", "B2", "B8"),
}
