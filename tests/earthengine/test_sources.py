"""Training sites from both CSV schemes, ANM's dam list and vector files; bad rows named by line."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from minegeo.earthengine.sources import read_sites
from minegeo.errors import MinegeoInputError


def write(tmp_path: Path, text: str, name: str = "sites.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_centre_scheme_gives_points_with_labels_and_ids(centre_csv: Path) -> None:
    sites = read_sites(centre_csv, default_label="mine")
    assert list(sites["site_id"]) == ["1", "2", "3"]
    assert list(sites["label"]) == ["mine", "mine", "not_mine"]
    assert sites.geometry.iloc[0].equals(shapely.Point(-43.9, -20.1))


def test_centre_scheme_reads_an_optional_side(tmp_path: Path) -> None:
    sites = read_sites(write(tmp_path, "lat,lon,class,side_m\n-20,-44,mine,1000\n"), "mine")
    assert sites["side_m"].iloc[0] == 1000.0


def test_centre_scheme_without_side_leaves_it_to_the_config(centre_csv: Path) -> None:
    assert math.isnan(read_sites(centre_csv, "mine")["side_m"].iloc[0])


def test_corner_scheme_gives_boxes(tmp_path: Path) -> None:
    path = write(tmp_path, "ll_lat,ll_lon,ur_lat,ur_lon,class\n-20.1,-44.0,-20.0,-43.9,mine\n")
    sites = read_sites(path, "mine")
    assert sites.geometry.iloc[0].equals(shapely.box(-44.0, -20.1, -43.9, -20.0))
    assert list(sites["site_id"]) == ["1"]


def test_semicolon_delimited_csv_with_comma_decimals(tmp_path: Path) -> None:
    sites = read_sites(write(tmp_path, "latitude;longitude;class\n-20,5;-44,25;mine\n"), "mine")
    assert sites.geometry.iloc[0].equals(shapely.Point(-44.25, -20.5))


def test_label_column_is_configurable(tmp_path: Path) -> None:
    sites = read_sites(write(tmp_path, "lat,lon,kind\n-20,-44,tailings_dam\n"), "mine", label_column="kind")
    assert list(sites["label"]) == ["tailings_dam"]


def test_bad_latitude_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "lat,lon,class\n-20,-44,mine\n\n-95,-44,mine\n")
    with pytest.raises(MinegeoInputError, match=r"sites\.csv, line 4: lat '-95' is not valid"):
        read_sites(path, "mine")


def test_non_numeric_longitude_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "lat,lon,class\n-20,abc,mine\n")
    with pytest.raises(MinegeoInputError, match=r"line 2: lon 'abc' is not valid; expected decimal degrees"):
        read_sites(path, "mine")


def test_empty_class_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "lat,lon,class\n-20,-44,mine\n-20,-44,\n")
    with pytest.raises(MinegeoInputError, match=r"line 3: empty 'class'"):
        read_sites(path, "mine")


def test_swapped_corners_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ll_lat,ll_lon,ur_lat,ur_lon,class\n-20.0,-44.0,-20.1,-43.9,mine\n")
    with pytest.raises(
        MinegeoInputError, match=r"line 2: lower-left .* is not below and left of upper-right"
    ):
        read_sites(path, "mine")


def test_negative_side_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "lat,lon,class,side_m\n-20,-44,mine,-5\n")
    with pytest.raises(MinegeoInputError, match=r"line 2: side_m '-5' is not valid; expected a positive"):
        read_sites(path, "mine")


def test_unknown_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"matches neither CSV scheme"):
        read_sites(write(tmp_path, "x,y,z\n1,2,3\n"), "mine")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"nope\.csv: file not found"):
        read_sites(tmp_path / "nope.csv", "mine")


ANM_HEADER = (
    "ID_BARRAGEM\tNOME DA BARRAGEM DE MINERAÇÃO\tNOME DO EMPREENDEDOR\tCPF/CNPJ\tLATITUDE\tLONGITUDE\t"
    "POSICIONAMENTO\tUF\tMUNICÍPIO\tMINÉRIO PRINCIPAL\tALTURA ATUAL (m)\tVOLUME ATUAL (m3)\t"
    "MÉTODO CONSTRUTIVO\tCATEGORIA DE RISCO\tDANO POTENCIAL ASSOCIADO\tCLASSE\tINSERIDA NA PNSB?"
)


def anm_row(dam_id: int, lat: str, lon: str) -> str:
    fields = [str(dam_id), "B1", "Emp", "00", lat, lon, "Sul do Equador", "MG", "Itabira", "Ferro", "10,3"]
    return "\t".join([*fields, "100", "Etapa única", "Baixa", "Média", "C", "Sim"])


def test_anm_list_is_recognised_by_its_header(tmp_path: Path) -> None:
    text = "\n".join([ANM_HEADER, anm_row(7, '"-19°38\'27.900"""', '"-43°12\'00.000"""'), ""])
    sites = read_sites(write(tmp_path, text, "dams.tsv"), default_label="mine")
    assert list(sites["site_id"]) == ["7"] and list(sites["label"]) == ["mine"]
    assert sites.geometry.iloc[0].y == pytest.approx(-(19 + 38 / 60 + 27.9 / 3600))


def test_anm_bad_rows_are_skipped(tmp_path: Path) -> None:
    rows = [ANM_HEADER, anm_row(1, "-19,5", "-43,5"), anm_row(2, "°21'05.800\"", "-43,5"), ""]
    sites = read_sites(write(tmp_path, "\n".join(rows), "dams.tsv"), default_label="mine")
    assert list(sites["site_id"]) == ["1"]


def test_vector_polygons_keep_geometry_and_default_label(tmp_path: Path) -> None:
    path = tmp_path / "concessions.gpkg"
    polygon = shapely.box(-44.0, -20.1, -43.9, -20.0)
    gpd.GeoDataFrame({"PROCESSO": ["830.001/2010"]}, geometry=[polygon], crs=4674).to_file(path)
    sites = read_sites(path, default_label="mine")
    assert list(sites["site_id"]) == ["830.001/2010"] and list(sites["label"]) == ["mine"]
    assert sites.crs.to_epsg() == 4326
    assert sites.geometry.iloc[0].equals_exact(polygon, tolerance=1e-6)


def test_vector_label_column_is_used_when_present(tmp_path: Path) -> None:
    path = tmp_path / "lookalikes.geojson"
    gpd.GeoDataFrame({"class": ["lake"]}, geometry=[shapely.Point(-44, -20)], crs=4326).to_file(path)
    assert list(read_sites(path, default_label="mine")["label"]) == ["lake"]
