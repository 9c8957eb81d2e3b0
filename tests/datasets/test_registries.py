"""Tests for the ANM dam list and SIGMINE concession readers."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from minegeo.datasets.registries import BadRow, parse_dms, read_anm_dams, read_concessions
from minegeo.errors import MinegeoInputError

HEADER = (
    "ID_BARRAGEM\tNOME DA BARRAGEM DE MINERAÇÃO\tNOME DO EMPREENDEDOR\tCPF/CNPJ\tLATITUDE\t"
    "LONGITUDE\tPOSICIONAMENTO\tUF\tMUNICÍPIO\tMINÉRIO PRINCIPAL\tALTURA ATUAL (m)\t"
    "VOLUME ATUAL (m3)\tMÉTODO CONSTRUTIVO\tCATEGORIA DE RISCO\tDANO POTENCIAL ASSOCIADO\t"
    "CLASSE\tINSERIDA NA PNSB?"
)


def anm_row(dam_id: str, lat: str, lon: str, height: str = "10,3", position: str = "Sul do Equador") -> str:
    return (
        f"{dam_id}\tB1\tMineração Ltda\t00.000.000/0001-00\t{lat}\t{lon}\t{position}\tMG\t"
        f"ITABIRA\tMinério de Ferro\t{height}\t1.234.567,5\tEtapa única\tBaixa\tAlta\tB\tSim"
    )


def write_anm(path: Path, rows: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join([HEADER, *rows]).encode(encoding))
    return path


GOOD_LAT, GOOD_LON = '"-19°38\'27.9424"""', '"-43°11\'33.8683"""'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-19°38'27.9424\"", -(19 + 38 / 60 + 27.9424 / 3600)),
        ('"-0°44\'00.100"""', -(44 / 60 + 0.1 / 3600)),
        ("-48° 44' 54.613\" ", -(48 + 44 / 60 + 54.613 / 3600)),
        ("19º38'27,5\"S", -(19 + 38 / 60 + 27.5 / 3600)),
        ("0°48'03.009\"N", 48 / 60 + 3.009 / 3600),
        ("51°52'W", -(51 + 52 / 60)),
        ("-19,64", -19.64),
        ("-44°05'60.000\"", -44.1),
    ],
)
def test_parse_dms_reads_real_variants(text: str, expected: float) -> None:
    assert parse_dms(text) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("text", ["°21'05.800\"", "", "abc", "-19°75'00\"", "-19°38'N"])
def test_parse_dms_rejects_malformed(text: str) -> None:
    with pytest.raises(MinegeoInputError, match="coordinate"):
        parse_dms(text)


def test_anm_rows_become_points_with_english_columns(tmp_path: Path) -> None:
    table = read_anm_dams(write_anm(tmp_path / "dams.tsv", [anm_row("7", GOOD_LAT, GOOD_LON)]))
    row = table.frame.iloc[0]
    assert table.frame.crs.to_epsg() == 4326
    assert (row["dam_id"], row["state"], row["in_pnsb"]) == ("7", "MG", True)
    assert row.geometry.x == pytest.approx(-43.19274, abs=1e-5)
    assert row.geometry.y == pytest.approx(-19.64109, abs=1e-5)


def test_anm_numbers_use_comma_decimals_and_dot_thousands(tmp_path: Path) -> None:
    table = read_anm_dams(write_anm(tmp_path / "dams.tsv", [anm_row("7", GOOD_LAT, GOOD_LON)]))
    assert table.frame["height_m"].iloc[0] == pytest.approx(10.3)
    assert table.frame["volume_m3"].iloc[0] == pytest.approx(1234567.5)


def test_anm_bad_rows_are_reported_with_line_and_the_rest_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        anm_row("1", GOOD_LAT, GOOD_LON),
        anm_row("2", '"°21\'05.800"""', GOOD_LON),  # degrees missing
        anm_row("3", GOOD_LAT, '"-13°11\'33.8683"""'),  # in the Atlantic
        "4\tshort row",
        anm_row("5", '"3°38\'27.9424"""', GOOD_LON),  # sign lost: north but 'Sul'
        anm_row("6", GOOD_LAT, GOOD_LON),
    ]
    with caplog.at_level(logging.WARNING):
        table = read_anm_dams(write_anm(tmp_path / "dams.tsv", rows))
    assert list(table.frame["dam_id"]) == ["1", "6"]
    assert [bad.line for bad in table.bad_rows] == [3, 4, 5, 6]
    assert "outside Brazil" in table.bad_rows[1].reason
    assert "2 fields, expected 17" in table.bad_rows[2].reason
    assert "contradicts" in table.bad_rows[3].reason
    assert "dams.tsv:3: latitude" in caplog.text


def test_bad_row_prints_as_file_line_reason() -> None:
    assert str(BadRow(Path("a/dams.tsv"), 12, "no latitude")) == "a/dams.tsv:12: no latitude"


def test_anm_latin1_file_is_read_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_anm(tmp_path / "dams.tsv", [anm_row("1", GOOD_LAT, GOOD_LON)], encoding="latin-1")
    with caplog.at_level(logging.WARNING):
        table = read_anm_dams(path)
    assert table.frame["owner"].iloc[0] == "Mineração Ltda"
    assert "dams.tsv: not valid UTF-8; reading it as latin-1" in caplog.text


def test_anm_file_without_its_headers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.tsv"
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(MinegeoInputError, match=r"other\.tsv: missing ANM column\(s\) ID_BARRAGEM"):
        read_anm_dams(path)


def test_anm_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"nothing\.tsv: file not found"):
        read_anm_dams(tmp_path / "nothing.tsv")


def concessions(path: Path, geometries: list[shapely.Geometry | None], **columns: list) -> Path:
    frame = gpd.GeoDataFrame(columns, geometry=geometries, crs="EPSG:4674")
    frame.to_file(path)
    return path


def test_concessions_columns_are_normalised_in_any_case(tmp_path: Path) -> None:
    path = concessions(
        tmp_path / "sigmine.gpkg",
        [shapely.box(-44, -20, -43.9, -19.9)],
        processo=["830.001/2010"],
        FASE=["CONCESSÃO DE LAVRA"],
        Subs=["MINÉRIO DE FERRO"],
        NOME=["Mineração Ltda"],
        UF=["MG"],
        AREA_HA=[123.4],
        ANO=[2010],
    )
    frame = read_concessions(path).frame
    assert list(frame.columns) == [
        "process",
        "phase",
        "substance",
        "holder",
        "state",
        "area_ha",
        "year",
        "geometry",
    ]
    assert (frame["process"].iloc[0], frame["area_ha"].iloc[0], frame["year"].iloc[0]) == (
        "830.001/2010",
        123.4,
        2010,
    )


def test_concessions_keep_the_file_crs(tmp_path: Path) -> None:
    path = concessions(tmp_path / "c.geojson", [shapely.box(0, 0, 1, 1)], PROCESSO=["1"])
    assert read_concessions(path).frame.crs.to_epsg() == 4674


def test_concessions_missing_optional_columns_are_na(tmp_path: Path) -> None:
    path = concessions(tmp_path / "c.gpkg", [shapely.box(0, 0, 1, 1)], PROCESSO=["1"])
    frame = read_concessions(path).frame
    assert frame[["area_ha", "year", "holder"]].isna().all().all()


def test_concessions_invalid_polygon_is_repaired(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    path = concessions(tmp_path / "c.gpkg", [bowtie], PROCESSO=["1"])
    table = read_concessions(path)
    assert table.bad_rows == []
    assert table.frame.geometry.iloc[0].is_valid
    assert table.frame.geometry.iloc[0].area == pytest.approx(0.5)


def test_concessions_null_and_empty_geometries_are_bad_rows(tmp_path: Path) -> None:
    geometries = [shapely.box(0, 0, 1, 1), None, shapely.Polygon()]
    path = concessions(tmp_path / "c.gpkg", geometries, PROCESSO=["1", "2", "3"])
    table = read_concessions(path)
    assert list(table.frame["process"]) == ["1"]
    assert [(bad.line, bad.reason) for bad in table.bad_rows] == [
        (2, "null or empty geometry; expected a polygon"),
        (3, "null or empty geometry; expected a polygon"),
    ]


def test_concessions_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_text("not a geopackage")
    with pytest.raises(MinegeoInputError, match=r"broken\.gpkg: not a readable vector file"):
        read_concessions(path)


def test_small_world_registries_parse(small_world: Path) -> None:
    dams = read_anm_dams(small_world / "anm_dams.tsv")
    concession = read_concessions(small_world / "registered.gpkg")
    assert len(dams.frame) > 0 and dams.bad_rows == []
    assert len(concession.frame) > 0 and concession.bad_rows == []


@pytest.mark.real_data
def test_real_anm_list_parses_all_but_one_row(shared_data: Path) -> None:
    table = read_anm_dams(shared_data / "anm" / "dam_2019_table.tsv")
    assert len(table.frame) == 768
    assert [(bad.line, bad.reason.split(":")[0]) for bad in table.bad_rows] == [(440, "latitude")]
    assert table.frame["state"].value_counts()["MG"] == 351
