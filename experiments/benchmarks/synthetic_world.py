"""Time making synthetic worlds and print what they hold.

    uv run python experiments/benchmarks/synthetic_world.py [--sizes demo small] [--seed 0]

Budgets (issue: foundation, item 6): ``demo`` at most 200 MB and 60 s on the 2-core
development machine; ``small`` a few MB in a few seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from minegeo.world.make import make_world

COLUMNS = ("size", "wall s", "cpu s", "MB", "files", "scenes", "mines", "dams", "patches per class")


def measure(size: str, seed: int, scratch: Path) -> tuple[str, ...]:
    """Make one world and summarise it as a table row."""
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    root = make_world(scratch / size, seed=seed, size=size)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    files = [p for p in root.rglob("*") if p.is_file()]
    world = json.loads((root / "world.json").read_text())
    counts = world["counts"]
    patches = " ".join(f"{cls}={n}" for cls, n in counts["patches"].items())
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    return (size, f"{wall:.1f}", f"{cpu_s:.1f}", f"{megabytes:.1f}", str(len(files)),
            str(len(world["scenes"])), str(counts["mine"]), str(counts["tailings_dam"]), patches)  # fmt: skip


def main() -> None:
    """Parse arguments, make each world in a scratch folder, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["demo", "small"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = [measure(size, args.seed, Path(scratch)) for size in args.sizes]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
