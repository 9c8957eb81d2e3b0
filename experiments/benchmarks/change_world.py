"""Change over time on a synthetic world with periods: new mines, growth, the stage's cost.

    uv run python -m minegeo.synthetic out=data/series4 seed=1 size=demo periods=4
    uv run python experiments/benchmarks/change_world.py --ckpt runs/.../best.ckpt \
        --world data/series4 --places 4 --out maps/series4

Predicts the first ``--places`` places of the world at every period (``python -m
minegeo.predict``, timed), times the change stage alone on its output, and scores the
sites against ``labels.gpkg``. The world's seed differs from the training world's, so
every place is one the model never saw. Prints a table:

- new-mine recall: truth mines that open after the first period, reported ``new`` with
  the period they open in (a site whose footprint meets the mine's polygon);
- new-site precision: sites reported ``new`` that meet a mine opening after the first
  period;
- area growth: per mine painted in two periods or more, the reported area ratio (last /
  first of those periods) against the painted one; the share within 15 %, the median and
  worst errors;
- the change stage's time against the predict run's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from minegeo.change.series import time_series
from minegeo.change.stage import run_change_stage


def predict(ckpt: Path, scenes: Path, out: Path, extra: list[str]) -> float:
    """Run predict on ``scenes``; returns its wall time in seconds."""
    command = [sys.executable, "-m", "minegeo.predict", f"ckpt={ckpt}", f"input={scenes}", f"out={out}"]
    command += ["progress=false", "report.quicklook=false", *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def stage_seconds(out: Path, extra: dict[str, float]) -> float:
    """Time the change stage alone on a finished run (it rewrites the same files)."""
    maps = [(p.name.removesuffix(".prob.tif"), p, p) for p in sorted(out.glob("*.prob.tif"))]
    start = time.perf_counter()
    run_change_stage(maps, out, True, **extra)  # type: ignore[arg-type]
    return time.perf_counter() - start


def score(world: Path, out: Path, places: list[str]) -> dict[str, float]:
    """New-mine recall and precision, and per-site area growth, against the world's labels."""
    truth = gpd.read_file(world / "labels.gpkg")
    truth = truth[truth["scene"].isin(places)].to_crs("EPSG:32723")
    periods = json.loads((world / "world.json").read_text())["periods"]
    sites = gpd.read_file(out / "changes.gpkg", layer="sites").to_crs("EPSG:32723")
    opening = truth[truth["first_period"] != periods[0]]
    pairs = gpd.sjoin(sites, truth, how="inner", predicate="intersects")
    reported = pairs[(pairs["status"] == "new") & (pairs["first_period_left"] == pairs["first_period_right"])]
    found = opening["id"].isin(reported["id"])
    new_sites = sites[sites["status"] == "new"]
    right = new_sites.index.isin(pairs.index[pairs["id"].isin(opening["id"])])
    errors = growth_errors(pairs, periods)
    pits = growth_errors(pairs, periods, "mine")
    return {
        "opening": len(opening),
        "found": int(found.sum()),
        "new_sites": len(new_sites),
        "new_correct": int(right.sum()),
        "growth_sites": len(errors),
        "growth_within_15": float(np.mean(np.abs(errors) <= 0.15)) if len(errors) else float("nan"),
        "growth_median_error": float(np.median(np.abs(errors))) if len(errors) else float("nan"),
        "growth_worst_error": float(np.max(np.abs(errors))) if len(errors) else float("nan"),
        "mine_growth_sites": len(pits),
        "mine_growth_within_15": float(np.mean(np.abs(pits) <= 0.15)) if len(pits) else float("nan"),
        "mine_growth_worst_error": float(np.max(np.abs(pits))) if len(pits) else float("nan"),
    }


def growth_errors(pairs: pd.DataFrame, periods: list[str], kind: str | None = None) -> np.ndarray:
    """Relative error of the reported area ratio (last / first period the mine is painted in).

    Mines painted in two periods or more count, each matched one to one with a site
    (a site holding two mines, or a mine split in two sites, has no growth of its own).
    """
    once = pairs[~pairs["id"].duplicated(keep=False) & ~pairs.index.duplicated(keep=False)]
    if kind is not None:
        once = once[once["class"] == kind]
    errors = []
    for row in once.itertuples():
        painted = [getattr(row, f"area_m2_{p}_right") for p in periods]
        seen = [i for i, area in enumerate(painted) if area > 0]
        if len(seen) < 2:
            continue
        first, last = periods[seen[0]], periods[seen[-1]]
        reported = getattr(row, f"area_m2_{first}_left"), getattr(row, f"area_m2_{last}_left")
        if reported[0] > 0:
            errors.append((reported[1] / reported[0]) / (painted[seen[-1]] / painted[seen[0]]) - 1)
    return np.array(errors)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--places", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threshold", type=float, default=0.6)
    parser.add_argument("extra", nargs="*", help="more predict overrides (detect.min_area_m2=5000 ...)")
    args = parser.parse_args()
    stems = sorted({p.name.split(".")[0] for p in (args.world / "scenes").glob("*.tif")})[: args.places]
    scenes = Path(tempfile.mkdtemp()) / "scenes"
    scenes.mkdir()
    for path in sorted((args.world / "scenes").glob("*.tif")):
        if path.name.split(".")[0] in stems:
            (scenes / path.name).symlink_to(path.resolve())
    shutil.rmtree(args.out, ignore_errors=True)
    total = predict(args.ckpt, scenes, args.out, [f"detect.threshold={args.threshold}", *args.extra])
    stage = stage_seconds(args.out, {"threshold": args.threshold})
    result = score(args.world, args.out, stems)
    series = time_series([(p.name.removesuffix(".prob.tif"), p, p) for p in args.out.glob("*.prob.tif")])
    print(f"| places | {len(series)} ({', '.join(stems)}), periods {', '.join(series[0].labels)} |")
    print(f"| new-mine recall | {result['found']} / {result['opening']} |")
    print(f"| new-site precision | {result['new_correct']} / {result['new_sites']} |")
    print(
        f"| area growth within 15 % | {result['growth_within_15']:.0%} of {result['growth_sites']} sites "
        f"(median error {result['growth_median_error']:.1%}, worst {result['growth_worst_error']:.1%}) |"
    )
    print(
        f"| area growth within 15 %, mines only | {result['mine_growth_within_15']:.0%} of "
        f"{result['mine_growth_sites']} (worst {result['mine_growth_worst_error']:.1%}) |"
    )
    share = stage / (total - stage)
    print(
        f"| predict wall time | {total:.1f} s, of which the change stage {stage:.2f} s "
        f"({share:.1%} of the rest) |"
    )


if __name__ == "__main__":
    main()
