"""minegeo.change: sites matched across periods (new, growing, gone); change COG and report.

Predict runs :func:`run_change_stage` after the scan and the report when the input holds
several periods of a place (``<place>.<period>.tif``, or a CSV of ``path,period``).
"""

from minegeo.change.outputs import change_markdown, change_summary, write_change_files
from minegeo.change.raster import CHANGE_BANDS, write_change_raster
from minegeo.change.series import SeriesMap, TimeSeries, is_series_csv, read_series_csv, time_series
from minegeo.change.sites import STATUSES, ChangeParams, counted_periods, match_sites, site_status
from minegeo.change.stage import run_change_stage, wants_change

__all__ = [
    "CHANGE_BANDS",
    "STATUSES",
    "ChangeParams",
    "SeriesMap",
    "TimeSeries",
    "change_markdown",
    "change_summary",
    "counted_periods",
    "is_series_csv",
    "match_sites",
    "read_series_csv",
    "run_change_stage",
    "site_status",
    "time_series",
    "wants_change",
    "write_change_files",
    "write_change_raster",
]
