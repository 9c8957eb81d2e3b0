"""Training sites to export patches around: CSV schemes, the ANM dam list, vector files.

Every reader returns the same table, a GeoDataFrame in EPSG:4326 with columns
``site_id`` (str), ``label`` (str), ``side_m`` (float, NaN where the patch size comes
from the config) and ``geometry`` (a point, a polygon, or a box for corner-scheme rows).

The paper's CSV files come in two schemes:

- centre: ``lat, lon, class`` (optional ``id`` and ``side_m``): a square of ``side_m``
  metres (default: the configured patch size) centred on the point;
- corners: ``ll_lat, ll_lon, ur_lat, ur_lon, class`` (optional ``id``): the lower-left and
  upper-right corners of the patch.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import shapely

from minegeo.datasets.vector import read_vector
from minegeo.errors import MinegeoInputError

__all__ = ["SITE_COLUMNS", "read_sites"]

log = logging.getLogger(__name__)

#: Columns of every site table, besides ``geometry``.
SITE_COLUMNS = ("site_id", "label", "side_m")
#: Accepted header spellings (lower case) for each field of the two CSV schemes.
ALIASES = {
    "lat": ("lat", "latitude", "center_lat", "centre_lat"),
    "lon": ("lon", "lng", "long", "longitude", "center_lon", "centre_lon"),
    "ll_lat": ("ll_lat", "lower_left_lat", "lat_min", "min_lat"),
    "ll_lon": ("ll_lon", "lower_left_lon", "lon_min", "min_lon"),
    "ur_lat": ("ur_lat", "upper_right_lat", "lat_max", "max_lat"),
    "ur_lon": ("ur_lon", "upper_right_lon", "lon_max", "max_lon"),
    "side_m": ("side_m", "size_m", "side"),
    "id": ("id", "site_id", "name"),
}
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
#: A header cell that only ANM's dam list has.
_ANM_MARKER = "ID_BARRAGEM"


def read_sites(
    path: str | Path, default_label: str, label_column: str = "class", id_column: str | None = None
) -> gpd.GeoDataFrame:
    """Read training sites from a CSV (either scheme), ANM's dam list or any vector file.

    ANM's list is recognised by its ``ID_BARRAGEM`` header; its unreadable rows are
    skipped with one warning each. Vector files keep their geometries (reprojected to
    EPSG:4326); their label comes from ``label_column`` when present.

    Args:
        path: the file.
        default_label: the class of sites whose file has no label column (ANM dams,
            concession polygons).
        label_column: the column holding each site's class.
        id_column: the column holding each site's id (default: ``id``, else the row number).

    Returns:
        the site table (see the module docstring).

    Raises:
        MinegeoInputError: if the file is missing or a CSV row is malformed (naming the line).
    """
    path = Path(path)
    if not path.is_file():
        raise MinegeoInputError(f"{path}: file not found; expected a CSV, ANM's TSV or a vector file")
    if path.suffix.lower() in _TEXT_SUFFIXES:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
        if _ANM_MARKER in header:
            return _read_anm(path, default_label)
        return _read_csv(path, label_column, id_column)
    return _read_vector_sites(path, default_label, label_column, id_column)


def _read_anm(path: Path, label: str) -> gpd.GeoDataFrame:
    from minegeo.datasets.registries import read_anm_dams

    table = read_anm_dams(path)
    if table.bad_rows:
        log.warning("%s: skipped %d unreadable rows (listed above)", path, len(table.bad_rows))
    frame = table.frame
    return _site_frame(
        [str(value) for value in frame["dam_id"]],
        [label] * len(frame),
        [math.nan] * len(frame),
        frame.geometry,
    )


def _read_vector_sites(
    path: Path, default_label: str, label_column: str, id_column: str | None
) -> gpd.GeoDataFrame:
    source = read_vector(path, kind="site file")
    source = source[source.geometry.notna() & ~source.geometry.is_empty].to_crs(4326)
    if id_column and id_column not in source.columns:
        raise MinegeoInputError(f"{path}: no id column {id_column!r}; columns are {list(source.columns)}")
    id_name = id_column or next((c for c in ("id", "PROCESSO", "process") if c in source.columns), None)
    ids = [str(v) for v in source[id_name]] if id_name else [str(i + 1) for i in range(len(source))]
    labels = (
        [str(v) for v in source[label_column]]
        if label_column in source.columns
        else [default_label] * len(source)
    )
    geometry = shapely.make_valid(source.geometry.to_numpy())
    return _site_frame(ids, labels, [math.nan] * len(source), geometry)


def _read_csv(path: Path, label_column: str, id_column: str | None) -> gpd.GeoDataFrame:
    ids: list[str] = []
    labels: list[str] = []
    sides: list[float] = []
    geometries: list[shapely.Geometry] = []
    for line, row, field in _csv_rows(path, label_column, id_column):
        label = (row.get(field["label"]) or "").strip()
        if not label:
            raise MinegeoInputError(f"{path}, line {line}: empty {field['label']!r}; expected a class name")
        number = _number_reader(path, line, row)
        if "lat" in field:
            lat, lon = number(field["lat"], 90.0), number(field["lon"], 180.0)
            geometries.append(shapely.Point(lon, lat))
        else:
            south, west = number(field["ll_lat"], 90.0), number(field["ll_lon"], 180.0)
            north, east = number(field["ur_lat"], 90.0), number(field["ur_lon"], 180.0)
            if not (south < north and west < east):
                raise MinegeoInputError(
                    f"{path}, line {line}: lower-left ({south}, {west}) is not below and left of "
                    f"upper-right ({north}, {east}); expected ll_lat < ur_lat and ll_lon < ur_lon"
                )
            geometries.append(shapely.box(west, south, east, north))
        sides.append(number(field["side_m"], math.inf, positive=True) if "side_m" in field else math.nan)
        labels.append(label)
        ids.append((row.get(field["id"]) or "").strip() if "id" in field else str(line - 1))
    return _site_frame(ids, labels, sides, geometries)


def _csv_rows(
    path: Path, label_column: str, id_column: str | None
) -> Iterator[tuple[int, dict[str, str], dict[str, str]]]:
    """Yield (line number, row, field map: scheme field -> header cell) for each data row."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        delimiter = "\t" if "\t" in first else (";" if first.count(";") > first.count(",") else ",")
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter=delimiter)
        field = _scheme_fields(path, list(reader.fieldnames or []), label_column, id_column)
        for row in reader:
            if any((value or "").strip() for value in row.values()):
                yield reader.line_num, row, field


def _scheme_fields(path: Path, header: list[str], label_column: str, id_column: str | None) -> dict[str, str]:
    """Map each scheme field to the header cell that spells it; refuse an unknown layout."""
    lower = {cell.strip().lower(): cell for cell in header}
    field = {
        name: next(lower[a] for a in aliases if a in lower)
        for name, aliases in ALIASES.items()
        if any(a in lower for a in aliases)
    }
    if id_column:
        field["id"] = lower.get(id_column.lower(), id_column)
    label = lower.get(label_column.lower()) or lower.get("label")
    centre = {"lat", "lon"} <= field.keys()
    corners = {"ll_lat", "ll_lon", "ur_lat", "ur_lon"} <= field.keys()
    if label is None or centre == corners:
        raise MinegeoInputError(
            f"{path}: header {header} matches neither CSV scheme; expected 'lat,lon,{label_column}' "
            f"(centre) or 'll_lat,ll_lon,ur_lat,ur_lon,{label_column}' (corners)"
        )
    field["label"] = label
    for name in ("ll_lat", "ll_lon", "ur_lat", "ur_lon") if centre else ("lat", "lon"):
        field.pop(name, None)
    return field


def _number_reader(path: Path, line: int, row: dict[str, str]) -> Callable[..., float]:
    """A parser of one row's numeric cells that names the file, line and cell on failure."""

    def number(cell: str, limit: float, positive: bool = False) -> float:
        text = (row.get(cell) or "").strip()
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and abs(value) <= limit and (value > 0 or not positive)):
            expected = "a positive number of metres" if positive else f"decimal degrees within ±{limit:g}"
            raise MinegeoInputError(f"{path}, line {line}: {cell} {text!r} is not valid; expected {expected}")
        return value

    return number


def _site_frame(ids: list[str], labels: list[str], sides: list[float], geometry: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ids, "label": labels, "side_m": sides}, geometry=geometry, crs=4326)
