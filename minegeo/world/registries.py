"""The world's vectors and lists: labels, look-alikes, SIGMINE-like concessions, ANM dams.

Polygons are traced from the painted owner map, so a label rasterised back on the scene
grid gives exactly the painted pixels.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio.features
import shapely
from pyproj import Transformer
from shapely.geometry import box, shape

from minegeo.world.scene import CRS, Scene
from minegeo.world.timeline import Lifecycle

#: GeoPackages stamp their write time; a fixed one keeps same seed, same bytes.
GPKG_DATE = "2020-01-01T00:00:00Z"
#: Header of the ANM dam list (as in the agency's 2019 table).
ANM_HEADER = (
    "ID_BARRAGEM",
    "NOME DA BARRAGEM DE MINERAÇÃO",
    "NOME DO EMPREENDEDOR",
    "CPF/CNPJ",
    "LATITUDE",
    "LONGITUDE",
    "POSICIONAMENTO",
    "UF",
    "MUNICÍPIO",
    "MINÉRIO PRINCIPAL",
    "ALTURA ATUAL (m)",
    "VOLUME ATUAL (m3)",
    "MÉTODO CONSTRUTIVO",
    "CATEGORIA DE RISCO",
    "DANO POTENCIAL ASSOCIADO",
    "CLASSE",
    "INSERIDA NA PNSB?",
)
#: Substances (SIGMINE ``SUBS``) by ore type; the ANM list names them differently.
SUBSTANCES = {
    "high_impact": (
        ("MINÉRIO DE FERRO", "Minério de Ferro"),
        ("MINÉRIO DE OURO", "Minério de Ouro Primário"),
        ("MINÉRIO DE MANGANÊS", "Minério de Manganês"),
    ),
    "low_impact": (("AREIA", "Areia"), ("ARGILA", "Argila"), ("CALCÁRIO", "Calcário"), ("CAULIM", "Caulim")),
}
COMPANIES = (
    "MINERAÇÃO SERRA AZUL LTDA",
    "VALE DO CURRAL MINERAÇÃO S.A.",
    "EXTRATIVA PICO DO ITABIRITO LTDA",
    "MINERADORA RIO DAS VELHAS LTDA",
    "CALCÁRIO MOEDA INDÚSTRIA LTDA",
    "AREAL SANTA LUZIA LTDA",
)
MUNICIPALITIES = ("NOVA LIMA", "ITABIRITO", "BRUMADINHO", "OURO PRETO", "CONGONHAS", "MARIANA", "ITABIRA")
#: ANM risk class from (risk category, potential damage), as in the agency's table.
ANM_CLASS = {
    ("Baixa", "Alta"): "B",
    ("Baixa", "Média"): "C",
    ("Baixa", "Baixa"): "E",
    ("Média", "Alta"): "B",
    ("Média", "Média"): "C",
    ("Média", "Baixa"): "D",
}
METHODS = (
    "Etapa única",
    "Alteamento a jusante",
    "Alteamento a montante ou desconhecido",
    "Alteamento por linha de centro",
)


def outline(scene: Scene, index: int) -> shapely.Geometry:
    """Polygon (scene CRS) of the pixels owned by ``scene.features[index]``."""
    feature = scene.features[index]
    reach = int(feature.radius * 1.9) + 2
    r0, c0 = max(int(feature.row) - reach, 0), max(int(feature.col) - reach, 0)
    mask = scene.owner[r0 : int(feature.row) + reach, c0 : int(feature.col) + reach] == index + 1
    window = rasterio.windows.Window(c0, r0, mask.shape[1], mask.shape[0])
    transform = rasterio.windows.transform(window, scene.transform)
    parts = rasterio.features.shapes(mask.astype(np.uint8), mask=mask, transform=transform)
    return shapely.union_all([shape(geometry) for geometry, _ in parts])


@contextmanager
def fixed_gpkg_date() -> Iterator[None]:
    """Make GDAL stamp GeoPackages with `GPKG_DATE` instead of now."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def write_gpkg(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write one layer named after the file, with a fixed timestamp."""
    with fixed_gpkg_date():
        frame.to_file(path, layer=path.stem, driver="GPKG", engine="pyogrio")


def labels_frame(scenes: list[Scene], registered: set[str]) -> gpd.GeoDataFrame:
    """Mine and dam polygons in EPSG:4326 (labels.gpkg)."""
    rows = []
    for scene in scenes:
        for index, feature in enumerate(scene.features):
            if feature.kind in ("mine", "tailings_dam"):
                rows.append(
                    {
                        "id": feature.id,
                        "class": feature.kind,
                        "registered": feature.id in registered,
                        "ore_type": feature.ore_type,
                        "scene": scene.stem,
                        "geometry": outline(scene, index),
                    }
                )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4326")


def series_labels_frame(
    places: list[tuple[list[Scene], list[Lifecycle]]], registered: set[str], periods: list[str]
) -> gpd.GeoDataFrame:
    """Mine and dam polygons of a world with periods (labels.gpkg), in EPSG:4326.

    Each polygon is the feature at its largest; ``first_period`` and ``last_period`` say
    when it is seen, and ``area_m2_<period>`` its painted area then (0 where absent).

    Args:
        places: each place's scenes (one per period) and feature lifecycles.
        registered: ids of the registered features.
        periods: the period labels, in order.

    Returns:
        the labels, one row per mine or dam.
    """
    rows = []
    for scenes, lives in places:
        pixel_m2 = abs(scenes[0].transform.a * scenes[0].transform.e)
        for index, (feature, life) in enumerate(zip(scenes[0].features, lives, strict=True)):
            if feature.kind not in ("mine", "tailings_dam"):
                continue
            areas = {
                f"area_m2_{label}": float((scene.owner == index + 1).sum() * pixel_m2)
                for label, scene in zip(periods, scenes, strict=True)
            }
            rows.append(
                {
                    "id": feature.id,
                    "class": feature.kind,
                    "registered": feature.id in registered,
                    "ore_type": feature.ore_type,
                    "scene": scenes[0].stem.rpartition(".")[0],
                    "first_period": periods[life.first],
                    "last_period": periods[life.last],
                    "life": life.life,
                    **areas,
                    "geometry": outline(scenes[life.largest], index),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4326")


def period_labels_frame(
    places: list[tuple[list[Scene], list[Lifecycle]]], registered: set[str], periods: list[str]
) -> gpd.GeoDataFrame:
    """Mine and dam polygons as painted in each period (labels_by_period.gpkg), EPSG:4326.

    One row per feature and period it is seen in, its outline then, and ``period`` and
    ``scene`` (``<place>.<period>``): what a model trained on the series' scenes learns from.
    """
    rows = [
        {
            "id": feature.id,
            "class": feature.kind,
            "registered": feature.id in registered,
            "period": period,
            "scene": scene.stem,
            "geometry": outline(scene, index),
        }
        for scenes, lives in places
        for number, (period, scene) in enumerate(zip(periods, scenes, strict=True))
        for index, (feature, life) in enumerate(zip(scene.features, lives, strict=True))
        if feature.kind in ("mine", "tailings_dam") and life.scales[number] > 0
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4326")


def lookalikes_frame(scenes: list[Scene]) -> gpd.GeoDataFrame:
    """Look-alike polygons in EPSG:4326 (lookalikes.gpkg)."""
    rows = [
        {"id": f.id, "class": f.kind, "scene": scene.stem, "geometry": outline(scene, index)}
        for scene in scenes
        for index, f in enumerate(scene.features)
        if f.kind not in ("mine", "tailings_dam")
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4326")


def concessions_frame(rng: np.random.Generator, labels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """SIGMINE-like mining concessions (EPSG:4674) around the registered mines and dams.

    Each is the feature's bounding box grown by 50-150 m, as concessions are drawn along
    meridians and parallels; features stay at least 400 m apart, so a concession never
    reaches an unregistered one.
    """
    utm = labels[labels["registered"]].to_crs(CRS)
    rows = []
    for row in utm.itertuples():
        minx, miny, maxx, maxy = row.geometry.bounds
        grow = rng.uniform(50, 150, 4)
        polygon = box(minx - grow[0], miny - grow[1], maxx + grow[2], maxy + grow[3])
        subs = SUBSTANCES[row.ore_type][int(rng.integers(len(SUBSTANCES[row.ore_type])))][0]
        rows.append(
            {
                "PROCESSO": f"{rng.integers(830_000, 834_000) / 1000:.3f}/{rng.integers(1975, 2019)}",
                "FASE": "CONCESSÃO DE LAVRA" if row.ore_type == "high_impact" else "LICENCIAMENTO",
                "SUBS": subs,
                "NOME": COMPANIES[int(rng.integers(len(COMPANIES)))],
                "UF": "MG",
                "AREA_HA": round(polygon.area / 10_000, 2),
                "geometry": polygon,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4674")


def dms(degrees: float) -> str:
    """Degrees as the ANM list writes them: ``-19°58'37.512"``."""
    millis = round(abs(degrees) * 3_600_000)
    d, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    sign = "-" if degrees < 0 else ""
    return f"{sign}{d}°{m:02d}'{rest // 1000:02d}.{rest % 1000:03d}\""


def _decimal_comma(value: float) -> str:
    return f"{value:.1f}".replace(".", ",").removesuffix(",0")


def anm_rows(rng: np.random.Generator, labels: gpd.GeoDataFrame) -> Iterator[list[str]]:
    """Rows of the ANM list for the registered tailings dams, at their centroids."""
    dams = labels[labels["registered"] & (labels["class"] == "tailings_dam")]
    centres = dams.to_crs(CRS).geometry.centroid
    to_degrees = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_degrees.transform(centres.x.values, centres.y.values)
    for number, (ore_type, y, x) in enumerate(zip(dams["ore_type"], lat, lon, strict=True), start=1):
        yield _anm_row(rng, number, ore_type, dms(y), dms(x))


def _anm_row(rng: np.random.Generator, number: int, ore_type: str, lat: str, lon: str) -> list[str]:
    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    risk, damage = pick(("Baixa", "Baixa", "Baixa", "Média")), pick(("Baixa", "Média", "Alta"))
    digits = rng.integers(10, 1000, 4)
    cnpj = f"{digits[0] % 90 + 10}.{digits[1]:03d}.{digits[2]:03d}/0001-{digits[3] % 90 + 10}"
    ore = SUBSTANCES[ore_type][int(rng.integers(len(SUBSTANCES[ore_type])))][1]
    town = pick(MUNICIPALITIES)
    return [
        str(number), f"B{number} ({town.title()})", pick(COMPANIES).title(), cnpj, lat, lon,
        "Sul do Equador", "MG", town, ore, _decimal_comma(rng.uniform(5, 80)),
        str(int(rng.integers(50_000, 20_000_000))), pick(METHODS),
        risk, damage, ANM_CLASS[risk, damage], "Sim",
    ]  # fmt: skip


def write_anm(rng: np.random.Generator, labels: gpd.GeoDataFrame, path: Path) -> list[str]:
    """Write the ANM-format list of registered dams; returns the dam ids in row order."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(ANM_HEADER)
        writer.writerows(anm_rows(rng, labels))
    dams = labels[labels["registered"] & (labels["class"] == "tailings_dam")]
    return [str(i) for i in dams["id"]]


def set_registration(rng: np.random.Generator, scenes: list[Scene], share: float) -> set[str]:
    """Pick ``share`` of the mines and of the dams (rounded) as registered."""
    registered: set[str] = set()
    for kind in ("mine", "tailings_dam"):
        ids = sorted(f.id for s in scenes for f in s.features if f.kind == kind)
        registered.update(ids[i] for i in rng.permutation(len(ids))[: round(share * len(ids))])
    return registered
