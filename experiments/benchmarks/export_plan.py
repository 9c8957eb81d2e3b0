"""Export plan sizes, float32 against uint16: ANM's dam list, a 67,110 km² scan and a state.

    uv run python experiments/benchmarks/export_plan.py [path/to/dam_2019_table.tsv]

First measures what each dtype costs on disk: the same pixels (real Sentinel-2 patches
exported by Earth Engine, and the demo world's scenes) written as float32 reflectance and
as uint16 digital numbers with GDAL, in Earth Engine's export layout (256 px tiles, pixel
interleaved, LZW, as the real patches are) and with DEFLATE and a predictor. Then prints
the dry-run plans (tasks, pixels, GB uncompressed for each dtype, GB with LZW at the
measured bytes per value of the real patches); contacts nothing.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from hydra import compose, initialize_config_dir
from pyproj import Geod

from minegeo.config import CONFIG_DIR, PROJECT_ROOT
from minegeo.earthengine.geodesy import square_bounds
from minegeo.earthengine.runner import plan_from_config
from minegeo.world.make import ensure_world

SHARED = PROJECT_ROOT.parent / "shared" / "data"
ANM = SHARED / "anm" / "dam_2019_table.tsv"
REAL_PATCHES = SHARED / "tailings_seg" / "img"
DEMO_WORLD = PROJECT_ROOT / "data" / "demo"
#: The area of Minas Gerais the paper scanned, as a square centred on the Iron Quadrangle.
AREA_KM2 = 67_110
CENTRE = (-19.9, -44.0)
#: The whole state of Minas Gerais (IBGE), as a square on the same centre.
STATE_KM2 = 586_513
#: GeoTIFF layouts compared: Earth Engine's (as its exports come), and DEFLATE with a predictor.
LAYOUTS: dict[str, dict[str, Any]] = {
    "LZW (Earth Engine's)": {"compress": "lzw"},
    "DEFLATE + predictor": {"compress": "deflate", "predictor": None},
}


def plan(*overrides: str) -> list:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("export", overrides=[f"out={tempfile.mkdtemp()}", *overrides])
    return plan_from_config(cfg)


def write(path: Path, source: Path, dtype: str, layout: dict) -> int:
    """Bytes of ``source``'s pixels (reflectance) written as ``dtype`` in ``layout``."""
    with rasterio.open(source) as src:
        pixels, profile = src.read(), src.profile
    options = dict(layout)
    if "predictor" in options:  # floating-point predictor for floats, horizontal for integers
        options["predictor"] = 3 if dtype == "float32" else 2
    values = pixels if dtype == "float32" else np.clip(np.rint(pixels * 10_000), 1, 65535)
    profile.update(dtype=dtype, nodata=None, tiled=True, blockxsize=256, blockysize=256, interleave="pixel")
    profile.pop("predictor", None)
    with rasterio.open(path, "w", **{**profile, "compress": None, **options}) as dst:
        dst.write(np.nan_to_num(values, nan=0.0).astype(dtype))
    return path.stat().st_size


def measure(sources: dict[str, list[Path]]) -> dict[str, float]:
    """Print bytes per value of each source, dtype and layout; return the real patches' LZW figures."""
    print("| pixels | values | layout | float32 B/value | uint16 B/value | uint16 / float32 |")
    print("|---|---:|---|---:|---:|---:|")
    lzw: dict[str, float] = {}
    scratch = Path(tempfile.mkdtemp()) / "file.tif"
    for name, paths in sources.items():
        values = 0
        for path in paths:
            with rasterio.open(path) as src:
                values += src.count * src.width * src.height
        for layout, options in LAYOUTS.items():
            per_value = {
                dtype: sum(write(scratch, path, dtype, options) for path in paths) / values
                for dtype in ("float32", "uint16")
            }
            if name.startswith("real") and layout.startswith("LZW"):
                lzw = per_value
            print(
                f"| {name} | {values / 1e6:,.1f} M | {layout} | {per_value['float32']:.2f} | "
                f"{per_value['uint16']:.2f} | {per_value['uint16'] / per_value['float32']:.2f} |"
            )
    return lzw


def row(name: str, tasks: list, lzw: dict[str, float], extra: str = "") -> str:
    pixels = sum(t.pixels for t in tasks)
    values = sum(t.pixels * len(t.bands) for t in tasks)
    gb = {dtype: values * size / 1e9 for dtype, size in (("float32", 4), ("uint16", 2))}
    packed = {dtype: values * lzw[dtype] / 1e9 for dtype in gb} if lzw else {}
    sizes = sorted({(t.width, t.height) for t in tasks})
    shape = f"{sizes[0][0]}x{sizes[0][1]}..{sizes[-1][0]}x{sizes[-1][1]}"
    compressed = f"{packed['float32']:.2f} / {packed['uint16']:.2f}" if packed else "-"
    return (
        f"| {name} | {len(tasks)} | {len(tasks[0].bands)} | {shape} | {pixels / 1e6:,.1f} | "
        f"{gb['float32']:.2f} / {gb['uint16']:.2f} | {compressed} | {extra} |"
    )


def min_overlap_m(tiles: list) -> float:
    """Smallest overlap between east-west or north-south neighbours, on the ellipsoid."""
    geod = Geod(ellps="WGS84")
    bounds = {(int(t.name[-8:-5]), int(t.name[-3:])): t.bounds for t in tiles}
    overlaps = []
    for (r, c), (w, s, e, n) in bounds.items():
        if (r, c + 1) in bounds:
            left = bounds[r, c + 1][0]
            overlaps += [geod.inv(left, lat, e, lat)[2] for lat in (s, n)]
        if (r + 1, c) in bounds:
            top = bounds[r + 1, c][3]
            overlaps.append(geod.inv(w, s, w, top)[2])
    return min(overlaps)


def square(km2: float) -> tuple[str, float]:
    """The ``aoi.bbox=`` override of a square of ``km2`` on `CENTRE`, and its ellipsoidal area."""
    west, south, east, north = square_bounds(*CENTRE, math.sqrt(km2 * 1e6))
    geod = Geod(ellps="WGS84")
    area = abs(geod.polygon_area_perimeter([west, east, east, west], [south, south, north, north])[0])
    return f"aoi.bbox=[{west},{south},{east},{north}]", area / 1e6


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    anm = Path(sys.argv[1]) if len(sys.argv) > 1 else ANM
    scenes = sorted((ensure_world(DEMO_WORLD) / "scenes").glob("*.tif"))
    sources = {"demo world scenes (13 bands)": scenes}
    if REAL_PATCHES.is_dir():
        sources = {"real S2 patches (3 bands)": sorted(REAL_PATCHES.glob("*.tif")), **sources}
    lzw = measure(sources)
    print()
    columns = ("plan", "tasks", "bands", "px per task (w x h)", "Mpx per band", "GB float32 / uint16")
    print("| " + " | ".join((*columns, "GB LZW float32 / uint16", "notes")) + " |")
    print("|---|---|---|---|---|---|---|---|")
    patches = plan(f"points={anm}", "negatives.count=0")
    print(row("ANM dams, patches only (EPSG:4326)", patches, lzw, "201 px x 10 m side"))
    l2a = plan(f"points={anm}", "negatives.count=0", "collection.id=COPERNICUS/S2_SR_HARMONIZED")
    print(row("ANM dams, patches only, L2A (EPSG:4326)", l2a, lzw, "S2_SR_HARMONIZED: no B10"))
    yearly = plan(f"points={anm}", "negatives.count=0", "periods=[2019,2020,2021]")
    print(
        row(
            "ANM dams, 3 years (EPSG:4326)",
            yearly,
            lzw,
            "periods=[2019,2020,2021]: one task per dam and year",
        )
    )
    print(row("ANM dams + balanced negatives (EPSG:4326)", plan(f"points={anm}"), lzw, "default config"))
    print(
        row(
            "ANM dams + balanced negatives (UTM)", plan(f"points={anm}", "collection.crs=utm"), lzw, "crs=utm"
        )
    )
    for km2, label in ((AREA_KM2, "scan"), (STATE_KM2, "scan of a state,")):
        bbox, area = square(km2)
        for crs in ("EPSG:4326", "utm"):
            tiles = plan(bbox, "aoi.name=mg", f"collection.crs={crs}")
            note = f"tiles <= 92 km, min overlap {min_overlap_m(tiles):,.0f} m (201 px x 10 m + 100 m)"
            print(row(f"{label} {area:,.0f} km² square ({crs})", tiles, lzw, note))


if __name__ == "__main__":
    main()
