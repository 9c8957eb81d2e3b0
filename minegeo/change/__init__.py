"""minegeo.change: sites matched across periods (new, growing, gone); change COG and report.

Predict runs :func:`run_change_stage` after the scan and the report when the input holds
several periods of a place (``<place>.<period>.tif``, or a CSV of ``path,period``).
The light modules (``params``, ``series``) are read at once; the others' names are
re-exported lazily (PEP 562), so predict's settings and scene discovery never import
geopandas.
"""

from __future__ import annotations

from minegeo.change import params, series  # light (no geopandas): read at once
from minegeo.lazy import lazy_exports

#: submodule -> the public names it defines
_MODULES = {
    "params": params.__all__,
    "series": series.__all__,
    "sites": ("STATUSES", "counted_periods", "match_sites", "site_status"),
    "raster": ("CHANGE_BANDS", "write_change_raster"),
    "outputs": ("change_markdown", "change_summary", "write_change_files"),
    "stage": ("run_change_stage",),
}

__all__, __getattr__ = lazy_exports(__name__, _MODULES)
