"""minegeo.change: sites matched across periods (new, growing, gone); change COG and report.

Predict runs :func:`run_change_stage` after the scan and the report when the input holds
several periods of a place (``<place>.<period>.tif``, or a CSV of ``path,period``).
Names are re-exported lazily (PEP 562), so predict's settings and scene discovery can
read ``params`` and ``series`` without importing geopandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ChangeParams": "params",
    "SeriesMap": "series",
    "TimeSeries": "series",
    "check_series": "series",
    "is_series_csv": "series",
    "read_series_csv": "series",
    "series_stems": "series",
    "time_series": "series",
    "STATUSES": "sites",
    "counted_periods": "sites",
    "match_sites": "sites",
    "site_status": "sites",
    "CHANGE_BANDS": "raster",
    "write_change_raster": "raster",
    "change_markdown": "outputs",
    "change_summary": "outputs",
    "write_change_files": "outputs",
    "run_change_stage": "stage",
    "wants_change": "stage",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
