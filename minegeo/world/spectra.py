"""Sentinel-2 L1C top-of-atmosphere reflectance of the world's surface materials.

Every pixel is a mixture of the materials below; its reflectance is the fraction-weighted
sum of their spectra (linear mixing), then shaded, hazed, blurred to each band's native
resolution, noised and quantised the way Earth Engine exports L1C (DN / 10000).
"""

from __future__ import annotations

import numpy as np

from minegeo import SENTINEL2_L1C_BANDS

#: The bands of every world raster, in file order: all 13 of L1C.
BANDS = SENTINEL2_L1C_BANDS

#: Materials, each a TOA spectrum of the 13 L1C bands in `BANDS` order. Values follow
#: typical L1C scenes over Minas Gerais: path radiance lifts B1/B2, B9 sits in the
#: water-vapour absorption, B10 (cirrus) is near zero over clear sky, exposed rock and
#: soil are brighter in SWIR (B11/B12) than vegetation, iron ore is dark and reddish.
#: B8A (865 nm, narrow; between B8 at 842 nm and B9 at 945 nm) reads a little above B8
#: for vegetation, soil and rock (the NIR plateau; their reflectance rises with
#: wavelength) and below it for water and wet sludge, which absorb more towards longer
#: NIR, and for iron ore, whose hematite absorbs around 860-900 nm.
# fmt: off
SPECTRA: dict[str, tuple[float, ...]] = {
    #                B1     B2     B3     B4     B5     B6     B7     B8     B8A    B9     B10    B11    B12
    "forest": (0.118, 0.088, 0.074, 0.052, 0.090, 0.210, 0.262, 0.285, 0.292, 0.088, 0.003, 0.150, 0.072),
    "pasture": (0.126, 0.100, 0.094, 0.088, 0.128, 0.215, 0.252, 0.272, 0.280, 0.084, 0.003, 0.248, 0.152),
    "dry_grass": (0.134, 0.112, 0.112, 0.122, 0.160, 0.205, 0.226, 0.240, 0.250, 0.076, 0.003, 0.300, 0.210),
    "crop": (0.120, 0.090, 0.090, 0.060, 0.110, 0.260, 0.330, 0.360, 0.368, 0.110, 0.003, 0.210, 0.110),
    "bare_soil": (0.138, 0.118, 0.128, 0.168, 0.198, 0.218, 0.236, 0.252, 0.262, 0.080, 0.004, 0.330, 0.262),
    "urban": (0.150, 0.128, 0.128, 0.138, 0.158, 0.178, 0.188, 0.205, 0.212, 0.068, 0.004, 0.228, 0.198),
    "asphalt": (0.124, 0.092, 0.084, 0.082, 0.088, 0.094, 0.098, 0.104, 0.108, 0.036, 0.003, 0.118, 0.104),
    "water": (0.118, 0.088, 0.068, 0.044, 0.040, 0.030, 0.028, 0.025, 0.020, 0.010, 0.002, 0.012, 0.008),
    "turbid_water": (0.128, 0.108, 0.110, 0.092, 0.082, 0.052, 0.046, 0.040, 0.033, 0.015, 0.002, 0.016, 0.011),  # noqa: E501
    "sand": (0.162, 0.158, 0.180, 0.212, 0.240, 0.258, 0.276, 0.296, 0.306, 0.098, 0.004, 0.380, 0.300),
    "iron_ore": (0.112, 0.078, 0.076, 0.098, 0.118, 0.128, 0.134, 0.140, 0.136, 0.052, 0.003, 0.248, 0.226),
    "bright_rock": (0.196, 0.212, 0.242, 0.278, 0.298, 0.312, 0.322, 0.334, 0.342, 0.118, 0.005, 0.428, 0.382),  # noqa: E501
    "sludge": (0.132, 0.122, 0.132, 0.130, 0.128, 0.100, 0.090, 0.080, 0.070, 0.030, 0.002, 0.050, 0.036),
    "tailings": (0.150, 0.146, 0.168, 0.202, 0.222, 0.232, 0.240, 0.250, 0.252, 0.082, 0.004, 0.322, 0.290),
    "embankment": (0.146, 0.130, 0.142, 0.180, 0.210, 0.236, 0.254, 0.270, 0.280, 0.086, 0.004, 0.352, 0.280),
}
# fmt: on
#: Material names, in the order of the fraction stack's first axis.
MATERIALS = tuple(SPECTRA)
#: Native ground resolution of each band in metres (Earth Engine resamples to 10 m by
#: nearest neighbour, so 20 m and 60 m bands come out as 2x2 and 6x6 blocks).
BAND_RESOLUTION_M = (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20)
#: Standard deviation of the per-pixel sensor noise, in reflectance.
NOISE_SIGMA = 0.0008


def material(name: str) -> int:
    """Index of a material in the fraction stack."""
    return MATERIALS.index(name)


def band(name: str) -> int:
    """Index of a band in a reflectance stack."""
    return BANDS.index(name)


def mix(fractions: np.ndarray) -> np.ndarray:
    """Linear mixing: material fractions (M, H, W) to reflectance (13, H, W)."""
    spectra = np.asarray(list(SPECTRA.values()), dtype=np.float32)  # (M, 13)
    return np.tensordot(spectra.T, fractions, axes=1)


def to_native_resolution(bands: np.ndarray) -> np.ndarray:
    """Average each band over its native pixel size and spread it back on the 10 m grid.

    Args:
        bands: (13, H, W) reflectance with H and W multiples of 6.

    Returns:
        the same array, 20 m and 60 m bands made blocky in place.
    """
    _, height, width = bands.shape
    for band, metres in enumerate(BAND_RESOLUTION_M):
        k = metres // 10
        if k == 1:
            continue
        blocks = bands[band].reshape(height // k, k, width // k, k).mean(axis=(1, 3))
        bands[band] = np.repeat(np.repeat(blocks, k, axis=0), k, axis=1)
    return bands


def quantise(bands: np.ndarray) -> np.ndarray:
    """Round to whole L1C digital numbers and divide by 10000, as Earth Engine exports (in place)."""
    dn = np.clip(bands, 0.0, 1.0, out=bands)
    dn *= np.float32(10000)
    np.rint(dn, out=dn)
    dn /= np.float32(10000)
    return dn
