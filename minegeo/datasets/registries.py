"""Official registries: Brazil's ANM tailings-dam list and SIGMINE mining concessions.

Detections are cross-checked against these tables to tell registered mines from the
unregistered ones worth reporting. Real registry files are hand-edited spreadsheets, so
the readers keep every row they can, and report each row they cannot read (file and line)
instead of failing on it.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from minegeo.datasets.vector import read_vector
from minegeo.errors import MinegeoInputError, existing_file

__all__ = ["BadRow", "RegistryTable", "parse_dms", "read_anm_dams", "read_concessions"]

log = logging.getLogger(__name__)

#: Brazil's bounding box (lon_min, lat_min, lon_max, lat_max) with a margin; a registered
#: dam outside it has a wrong coordinate (typically a dropped sign or swapped lat/lon).
BRAZIL_BOUNDS = (-75.0, -35.0, -35.0, 7.0)

#: ANM header (accents stripped, upper case) -> minegeo column, in the file's order.
ANM_COLUMNS = {
    "ID_BARRAGEM": "dam_id",
    "NOME DA BARRAGEM DE MINERACAO": "name",
    "NOME DO EMPREENDEDOR": "owner",
    "CPF/CNPJ": "cnpj",
    "LATITUDE": "latitude",
    "LONGITUDE": "longitude",
    "POSICIONAMENTO": "position",
    "UF": "state",
    "MUNICIPIO": "municipality",
    "MINERIO PRINCIPAL": "ore",
    "ALTURA ATUAL (M)": "height_m",
    "VOLUME ATUAL (M3)": "volume_m3",
    "METODO CONSTRUTIVO": "method",
    "CATEGORIA DE RISCO": "risk_category",
    "DANO POTENCIAL ASSOCIADO": "potential_damage",
    "CLASSE": "dam_class",
    "INSERIDA NA PNSB?": "in_pnsb",
}

#: SIGMINE attribute (upper case) -> minegeo column.
SIGMINE_COLUMNS = {
    "PROCESSO": "process",
    "FASE": "phase",
    "SUBS": "substance",
    "NOME": "holder",
    "UF": "state",
    "AREA_HA": "area_ha",
    "ANO": "year",
}

_NUMBER = r"\d+(?:\.\d*)?"
_DMS = re.compile(
    rf"""^(?P<pre>[NSEWLO])?\s*(?P<sign>[-+])?\s*
    (?P<deg>{_NUMBER})\s*°\s*
    (?:(?P<min>{_NUMBER})\s*'\s*)?
    (?:(?P<sec>{_NUMBER})\s*(?:"|'')?\s*)?
    (?P<post>[NSEWLO])?$""",
    re.VERBOSE,
)
_DECIMAL = re.compile(rf"^(?P<sign>[-+])?\s*(?P<deg>{_NUMBER})\s*(?P<post>[NSEWLO])?$")
#: Hemisphere letters, with the Portuguese O (oeste, west) and L (leste, east).
_NEGATIVE_LETTERS = {"S", "W", "O"}


@dataclass(frozen=True)
class BadRow:
    """A registry row that could not be read, with where it is and why."""

    path: Path
    line: int  # 1-based line in the file (feature index + 1 for vector files)
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class RegistryTable:
    """A parsed registry: the rows that could be read and the rows that could not."""

    frame: gpd.GeoDataFrame
    bad_rows: list[BadRow]


def parse_dms(text: str) -> float:
    """Parse a coordinate in degrees-minutes-seconds or decimal degrees.

    Accepts the variants found in ANM's list: ``-19°38'27.9424"``, the same still quoted
    as a spreadsheet cell with doubled quotes, spaces between parts, ``º`` for ``°``, comma decimals,
    hemisphere letters (``19°38'S``, with Portuguese ``O``/``L``) and plain ``-19,64``.

    Args:
        text: the coordinate as written.

    Returns:
        the coordinate in signed decimal degrees.

    Raises:
        MinegeoInputError: if the text is not a coordinate (or minutes/seconds over 60).
    """
    cleaned = _clean_coordinate(text)
    match = _DMS.match(cleaned) or _DECIMAL.match(cleaned)
    if match is None:
        raise MinegeoInputError(
            f"cannot parse coordinate {text!r}; expected degrees-minutes-seconds like "
            f"-19°38'27.9\" or decimal degrees like -19.64"
        )
    parts = match.groupdict()
    minutes = float(parts.get("min") or 0.0)
    seconds = float(parts.get("sec") or 0.0)
    # Exactly 60 is a rounding carry (59.9996" written as 60.000"), which is unambiguous.
    if minutes > 60 or seconds > 60:
        raise MinegeoInputError(f"coordinate {text!r} has minutes or seconds over 60")
    value = float(parts["deg"]) + minutes / 60 + seconds / 3600
    letters = {parts.get("pre"), parts.get("post")} - {None}
    if len(letters) > 1 or (parts["sign"] == "-" and letters - _NEGATIVE_LETTERS):
        raise MinegeoInputError(f"coordinate {text!r} has contradictory hemisphere signs")
    negative = parts["sign"] == "-" or bool(letters & _NEGATIVE_LETTERS)
    return -value if negative else value


def _clean_coordinate(text: str) -> str:
    """Strip the quoting of spreadsheet exports and unify degree/decimal marks."""
    cleaned = text.strip().strip('"').strip()
    cleaned = cleaned.replace("º", "°").replace("˚", "°").replace("’", "'").replace("”", '"')
    cleaned = cleaned.replace('""', '"').replace(",", ".")
    return cleaned.rstrip('"').strip().upper()


def parse_number(text: str) -> float:
    """Parse a Brazilian-formatted number (``10,3``, ``1.234.567,8``); empty gives NaN.

    Args:
        text: the number as written (comma decimal, optional dot thousands separators).

    Returns:
        the value, or NaN for an empty cell.

    Raises:
        ValueError: if the text is not a number.
    """
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        return math.nan
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+", cleaned):
        # Several dot groups of three digits can only be thousands separators.
        cleaned = cleaned.replace(".", "")
    return float(cleaned)


def read_anm_dams(path: str | Path) -> RegistryTable:
    """Read ANM's tailings-dam list (tab-separated, Portuguese headers, DMS coordinates).

    Rows with an unreadable or out-of-Brazil coordinate, or the wrong number of fields, are
    logged as warnings and returned in ``bad_rows``; every other row is kept.

    Args:
        path: the ``.tsv`` file as published by ANM (UTF-8, or latin-1 as a fallback).

    Returns:
        the dams as EPSG:4326 points with columns dam_id, name, owner, cnpj, latitude,
        longitude, position, state, municipality, ore, height_m, volume_m3, method,
        risk_category, potential_damage, dam_class, in_pnsb, geometry; and the bad rows.

    Raises:
        MinegeoInputError: if the file is missing, empty or lacks ANM's headers.
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    if not lines:
        raise MinegeoInputError(f"{path}: empty file; expected ANM's dam list with a header row")
    header = _anm_header(path, lines[0])
    records: list[dict[str, object]] = []
    bad_rows: list[BadRow] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            records.append(_anm_record(header, line))
        except ValueError as error:
            bad = BadRow(path, number, str(error))
            log.warning("%s", bad)
            bad_rows.append(bad)
    return RegistryTable(_anm_frame(records), bad_rows)


def _read_text(path: Path) -> str:
    """Read a text file as UTF-8, falling back to latin-1 (old spreadsheet exports)."""
    data = existing_file(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s: not valid UTF-8; reading it as latin-1", path)
        return data.decode("latin-1")


def _normalise_header(name: str) -> str:
    without_accents = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(without_accents.upper().split())


def _anm_header(path: Path, line: str) -> list[str]:
    """Map the header row to minegeo column names, refusing a file that is not ANM's list."""
    names = [_normalise_header(name) for name in next(csv.reader([line], delimiter="\t"))]
    missing = [name for name in ANM_COLUMNS if name not in names]
    if missing:
        raise MinegeoInputError(
            f"{path}: missing ANM column(s) {', '.join(missing)}; found {', '.join(names)}"
        )
    return [ANM_COLUMNS.get(name, name) for name in names]


def _anm_record(header: list[str], line: str) -> dict[str, object]:
    """One dam from one line; ValueError (with the reason) when it cannot be used."""
    # One line at a time, so a stray quote cannot swallow the lines after it.
    fields = next(csv.reader([line], delimiter="\t"))
    if len(fields) != len(header):
        raise ValueError(f"{len(fields)} fields, expected {len(header)}")
    raw = {name: value.strip() for name, value in zip(header, fields, strict=True)}
    latitude = _coordinate(raw["latitude"], "latitude", 90.0)
    longitude = _coordinate(raw["longitude"], "longitude", 180.0)
    _check_in_brazil(latitude, longitude)
    _check_hemisphere(latitude, raw["position"])
    record: dict[str, object] = {name: raw[name] or None for name in ANM_COLUMNS.values()}
    record["latitude"], record["longitude"] = latitude, longitude
    for name in ("height_m", "volume_m3"):
        record[name] = _number(raw[name], name)
    record["in_pnsb"] = {"SIM": True, "NAO": False}.get(_normalise_header(raw["in_pnsb"]))
    return record


def _coordinate(text: str, name: str, limit: float) -> float:
    try:
        value = parse_dms(text)
    except MinegeoInputError as error:
        raise ValueError(f"{name}: {error}") from None
    if not -limit <= value <= limit:
        raise ValueError(f"{name} {value:.5f} outside [-{limit:g}, {limit:g}]")
    return value


def _check_in_brazil(latitude: float, longitude: float) -> None:
    lon_min, lat_min, lon_max, lat_max = BRAZIL_BOUNDS
    if not (lon_min <= longitude <= lon_max and lat_min <= latitude <= lat_max):
        raise ValueError(
            f"coordinate ({latitude:.5f}, {longitude:.5f}) is outside Brazil "
            f"(lat {lat_min:g}..{lat_max:g}, lon {lon_min:g}..{lon_max:g})"
        )


def _check_hemisphere(latitude: float, position: str) -> None:
    """A latitude whose sign contradicts the row's own 'Norte/Sul do Equador' lost its sign."""
    position = _normalise_header(position)
    if (position.startswith("NORTE") and latitude < 0) or (position.startswith("SUL") and latitude > 0):
        raise ValueError(f"latitude {latitude:.5f} contradicts position {position.title()!r}")


def _number(text: str, name: str) -> float:
    try:
        return parse_number(text)
    except ValueError:
        log.warning("%s %r is not a number; kept as NaN", name, text)
        return math.nan


def _anm_frame(records: list[dict[str, object]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(ANM_COLUMNS.values()))
    frame = frame.astype({"height_m": "float64", "volume_m3": "float64", "in_pnsb": "boolean"})
    points = gpd.points_from_xy(frame["longitude"], frame["latitude"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def read_concessions(path: str | Path, layer: str | int | None = None) -> RegistryTable:
    """Read SIGMINE-style concession polygons (Shapefile, GeoPackage, GeoJSON...).

    Invalid polygons are repaired with ``make_valid``; null or empty geometries are
    returned as bad rows (line = feature index + 1). The file's CRS is kept (SIGMINE uses
    EPSG:4674, SIRGAS 2000); call ``frame.to_crs`` to change it.

    Args:
        path: the vector file.
        layer: the layer of a multi-layer file (default: the first).

    Returns:
        polygons with columns process, phase, substance, holder, state, area_ha, year,
        geometry (columns absent from the file are NA); and the bad rows.

    Raises:
        MinegeoInputError: if the file is missing, unreadable or has no CRS.
    """
    path = Path(path)
    source = read_vector(path, layer, kind="file")
    columns = {str(name).upper(): name for name in source.columns if name != source.geometry.name}
    frame = pd.DataFrame(index=source.index)
    for upper, name in SIGMINE_COLUMNS.items():
        frame[name] = source[columns[upper]] if upper in columns else pd.NA
    frame["area_ha"] = pd.to_numeric(
        frame["area_ha"].map(lambda v: v.replace(",", ".") if isinstance(v, str) else v), errors="coerce"
    )
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce").astype("Int64")
    geometry, bad_rows = _repair_polygons(path, source.geometry)
    keep = geometry.notna()
    result = gpd.GeoDataFrame(frame[keep], geometry=geometry[keep], crs=source.crs)
    return RegistryTable(result.reset_index(drop=True), bad_rows)


def _repair_polygons(path: Path, geometry: gpd.GeoSeries) -> tuple[gpd.GeoSeries, list[BadRow]]:
    """Repair invalid polygons; null, empty or non-areal ones become bad rows (and None)."""
    repaired = geometry.make_valid()
    repaired = repaired.map(_polygonal_part, na_action="ignore")
    bad_rows = []
    for position, (original, fixed) in enumerate(zip(geometry, repaired, strict=True)):
        if fixed is None or fixed.is_empty:
            reason = "null or empty geometry" if original is None or original.is_empty else "no area"
            bad = BadRow(path, position + 1, f"{reason}; expected a polygon")
            log.warning("%s", bad)
            bad_rows.append(bad)
    repaired = repaired.where(~repaired.isna() & ~repaired.is_empty, None)
    return repaired, bad_rows


def _polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons of a repaired geometry (``make_valid`` can leave lines beside them)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [part for part in shapely.get_parts(geometry) if part.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None
