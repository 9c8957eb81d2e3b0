"""Export plan sizes: ANM's dam list as training patches, and a 67,110 km² scan grid.

    uv run python experiments/benchmarks/export_plan.py [path/to/dam_2019_table.tsv]

Prints a table (tasks, pixels, GB of float32 GeoTIFF) from dry-run plans; contacts nothing.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from pyproj import Geod

from minegeo.config import CONFIG_DIR
from minegeo.earthengine.geodesy import square_bounds
from minegeo.earthengine.runner import plan_from_config

ANM = Path(__file__).resolve().parents[3] / "shared" / "data" / "anm" / "dam_2019_table.tsv"
#: The area of Minas Gerais the paper scanned, as a square centred on the Iron Quadrangle.
AREA_KM2 = 67_110
CENTRE = (-19.9, -44.0)


def plan(*overrides: str) -> list:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("export", overrides=[f"out={tempfile.mkdtemp()}", *overrides])
    return plan_from_config(cfg)


def row(name: str, tasks: list, extra: str = "") -> str:
    pixels = sum(t.pixels for t in tasks)
    gb = sum(t.estimated_bytes for t in tasks) / 1e9
    sizes = sorted({(t.width, t.height) for t in tasks})
    shape = f"{sizes[0][0]}x{sizes[0][1]}..{sizes[-1][0]}x{sizes[-1][1]}"
    return f"| {name} | {len(tasks)} | {shape} | {pixels / 1e6:,.1f} | {gb:.2f} | {extra} |"


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


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    anm = Path(sys.argv[1]) if len(sys.argv) > 1 else ANM
    west, south, east, north = square_bounds(*CENTRE, math.sqrt(AREA_KM2 * 1e6))
    area = abs(
        Geod(ellps="WGS84").polygon_area_perimeter([west, east, east, west], [south, south, north, north])[0]
    )
    bbox = f"aoi.bbox=[{west},{south},{east},{north}]"
    print("| plan | tasks | px per task (w x h) | Mpx per band | GB (float32) | notes |")
    print("|---|---|---|---|---|---|")
    print(
        row(
            "ANM dams, patches only (EPSG:4326)",
            plan(f"points={anm}", "negatives.count=0"),
            "201 px x 10 m side",
        )
    )
    yearly = plan(f"points={anm}", "negatives.count=0", "periods=[2019,2020,2021]")
    print(row("ANM dams, 3 years (EPSG:4326)", yearly, "periods=[2019,2020,2021]: one task per dam and year"))
    print(row("ANM dams + balanced negatives (EPSG:4326)", plan(f"points={anm}"), "default config"))
    print(row("ANM dams + balanced negatives (UTM)", plan(f"points={anm}", "collection.crs=utm"), "crs=utm"))
    for crs in ("EPSG:4326", "utm"):
        tiles = plan(bbox, "aoi.name=mg", f"collection.crs={crs}")
        note = f"tiles <= 92 km, min overlap {min_overlap_m(tiles):,.0f} m (201 px x 10 m + 100 m)"
        print(row(f"scan {area / 1e6:,.0f} km² square ({crs})", tiles, note))


if __name__ == "__main__":
    main()
