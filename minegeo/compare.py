"""Compare training runs: one markdown row per run found under a (multi)run directory.

    python -m minegeo.compare multirun/2026-11-23/19-00-00
    minegeo-compare runs/ --sort val/iou_mine --metric val/iou_tailings_dam

A run is a directory holding ``metrics.json`` (flat final metrics written by
``minegeo.train``) and ``.hydra/config.yaml`` (its composed config).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from minegeo.errors import MinegeoInputError

#: metric columns shown when at least one run has them, in this order
METRIC_COLUMNS = ("val/iou", "test/iou", "val/f1", "test/f1", "test/iou_mine")
#: default sort: best test IoU first, then best validation F1
DEFAULT_SORT = ("test/iou", "val/f1")
#: row keys shown in their own columns, never as metric columns
DESCRIPTIVE_KEYS = ("run", "experiment", "model", "encoder", "bands", "epochs", "wall_time_s")
#: bands lists longer than this are shown as a count
MAX_LISTED_BANDS = 4


def find_runs(root: Path) -> list[Path]:
    """Run directories under ``root`` (itself included), sorted by path.

    Args:
        root: a run, multirun or any directory above runs.

    Returns:
        the directories holding both ``metrics.json`` and ``.hydra/config.yaml``.

    Raises:
        MinegeoInputError: if ``root`` is not a directory or holds no run.
    """
    if not root.is_dir():
        raise MinegeoInputError(f"{root}: not a directory; expected a run or multirun directory")
    runs = sorted(
        m.parent for m in root.rglob("metrics.json") if (m.parent / ".hydra" / "config.yaml").is_file()
    )
    if not runs:
        raise MinegeoInputError(
            f"{root}: no runs found; expected directories holding metrics.json and .hydra/config.yaml"
        )
    return runs


def summarize_run(run: Path, root: Path) -> dict[str, Any]:
    """One table row: the run's metrics plus what its config says about model and data.

    Args:
        run: the run directory.
        root: the directory the table is about (the run column is relative to it).

    Returns:
        every key of ``metrics.json`` plus ``run``, ``experiment``, ``model``, ``encoder``
        and ``bands``.

    Raises:
        MinegeoInputError: if ``metrics.json`` is not a JSON object or the config is not YAML.
    """
    metrics_path = run / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise MinegeoInputError(f"{metrics_path}: not readable JSON ({error})") from error
    if not isinstance(metrics, dict):
        raise MinegeoInputError(
            f"{metrics_path}: expected a JSON object of metrics, got {type(metrics).__name__}"
        )
    config_path = run / ".hydra" / "config.yaml"
    try:
        config = OmegaConf.load(config_path)
    except Exception as error:  # OmegaConf raises YAML and its own errors alike
        raise MinegeoInputError(f"{config_path}: not a readable config ({error})") from error
    if not isinstance(config, DictConfig):
        raise MinegeoInputError(f"{config_path}: expected a mapping at the top level")
    return {
        **metrics,
        "run": str(run.relative_to(root)) if run != root else run.name,
        "experiment": metrics.get("experiment") or _select(config, "experiment_name"),
        "model": _model_name(config),
        "encoder": _select(config, "model.encoder") or _select(config, "model.encoder_name"),
        "bands": _bands(_select(config, "data.bands")),
    }


def sort_runs(
    rows: list[dict[str, Any]], keys: Sequence[str], ascending: bool = False
) -> list[dict[str, Any]]:
    """Rows ordered by ``keys`` in turn (best first); rows missing a key come after those with it.

    Args:
        rows: table rows.
        keys: row keys, most significant first.
        ascending: smallest first instead (for losses, wall time).

    Returns:
        a new sorted list.
    """
    ordered = sorted(rows, key=lambda row: row["run"])
    for key in reversed(keys):
        present = [row for row in ordered if _number(row.get(key)) is not None]
        missing = [row for row in ordered if _number(row.get(key)) is None]
        present.sort(key=lambda row: _number(row[key]) or 0.0, reverse=not ascending)
        ordered = present + missing
    return ordered


def markdown_table(rows: Sequence[dict[str, Any]], extra_metrics: Sequence[str] = ()) -> str:
    """The comparison as a markdown table.

    Args:
        rows: sorted table rows.
        extra_metrics: metric keys to show besides :data:`METRIC_COLUMNS`.

    Returns:
        the table, one line per run under a header and separator line.
    """
    extra = [m for m in extra_metrics if m not in METRIC_COLUMNS and m not in DESCRIPTIVE_KEYS]
    wanted = [*METRIC_COLUMNS, *dict.fromkeys(extra)]
    metrics = [m for m in wanted if any(m in row for row in rows)]
    columns = ["run", "experiment", "model", "encoder", "bands", *metrics, "epochs", "wall time"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = [_cell(row.get(c)) for c in columns[:5]]
        cells += [_cell(row.get(m)) for m in metrics]
        cells += [_cell(row.get("epochs")), _duration(row.get("wall_time_s"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the comparison table of the runs under DIR.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 2 on a bad directory (one line on stderr).
    """
    parser = argparse.ArgumentParser(prog="minegeo-compare", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="run or multirun directory (searched recursively)")
    parser.add_argument("--sort", action="append", help="metric to sort by, best first; repeat for ties")
    parser.add_argument("--ascending", action="store_true", help="sort smallest first")
    parser.add_argument("--metric", action="append", default=[], help="extra metric column; repeatable")
    args = parser.parse_args(argv)
    sort_keys = args.sort or list(DEFAULT_SORT)
    try:
        rows = [summarize_run(run, args.dir) for run in find_runs(args.dir)]
    except MinegeoInputError as error:
        print(f"minegeo-compare: error: {error}", file=sys.stderr)
        return 2
    print(markdown_table(sort_runs(rows, sort_keys, args.ascending), [*sort_keys, *args.metric]))
    return 0


def _select(config: DictConfig, key: str) -> Any:
    """A config value, or None when absent or when it interpolates something only training knows."""
    try:
        value = OmegaConf.select(config, key, throw_on_resolution_failure=False)
    except Exception:  # unregistered resolvers (``${len:...}``, ``${hydra:...}``)
        return None
    return OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value


def _model_name(config: DictConfig) -> str | None:
    arch = _select(config, "model.arch")
    target = _select(config, "model._target_")
    return arch or (str(target).rsplit(".", 1)[-1] if target else None)


def _bands(bands: Any) -> str | None:
    if not isinstance(bands, list):
        return None if bands is None else str(bands)
    return ",".join(map(str, bands)) if len(bands) <= MAX_LISTED_BANDS else str(len(bands))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|")


def _duration(seconds: Any) -> str:
    value = _number(seconds)
    if value is None:
        return "–"
    minutes, secs = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


if __name__ == "__main__":
    sys.exit(main())
