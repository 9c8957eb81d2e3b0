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
#: Sentinel-2 bands as Earth Engine exports them, in file order.
SENTINEL2_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12")
#: All 13 Sentinel-2 L1C bands in ESA's order (B8A after B8), as TorchGeo's SENTINEL2_ALL weights take them.
SENTINEL2_L1C_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
