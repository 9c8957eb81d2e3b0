"""A seeded synthetic mining world laid out like Earth Engine exports (the demo data).

``make_world(out, seed, size)`` writes::

    scenes/*.tif                 13-band float32 L1C reflectance (B1..B12 with B8A), UTM 23S,
                                 10 m, NaN cloud holes, tiled, DEFLATE + floating-point predictor
    labels.gpkg                  mine and tailings-dam polygons (EPSG:4326)
    lookalikes.gpkg              lakes, farm dams, sand bars, towns, construction sites
    registered.gpkg              SIGMINE-like concessions (EPSG:4674) over ~60 % of them
    anm_dams.tsv                 the registered dams, in the ANM list's format
    patches/discovery/{mine,not_mine}/<class>_<id>.tif                 201 px
    patches/oretype/{high_impact,low_impact,no_ore}/<class>_<id>.tif   21 px
    world.json                   seed, size, scenes, ids (unregistered ones), counts

Same seed, same bytes. Scenes mimic the Iron Quadrangle of Minas Gerais, where the
paper's registered mines and dams concentrate.

With ``periods=N`` (N > 1) every place is written at N yearly periods, as
``scenes/<place>.<period>.tif`` (``scene_00.2019.tif``...): mines and dams open, grow and
close between periods, the seasons and water levels vary, and clouds differ
(``minegeo.world.timeline``). ``labels.gpkg`` then holds each mine or dam at
its largest, with ``first_period``, ``last_period``, ``life`` (stable, growing, new,
gone) and ``area_m2_<period>``; ``labels_by_period.gpkg`` holds each as painted in every
period it is seen in (``period``, ``scene``), which is what to train on the series with.
The patches are cut from the last period, of the features seen in it. ``periods=1`` is
the world above, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.windows import Window

from minegeo.datasets.raster import open_raster
from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path
from minegeo.world import patches, registries, spectra, timeline
from minegeo.world.scene import CRS, RESOLUTION, Scene, SceneRecipe, cut, make_scene, write_raster

#: Share of the mines, and of the dams, that are registered (the rest are to be found).
REGISTERED_SHARE = 0.6
#: UTM corner of the first scene (a multiple of 60 m, like the L1C tiling grid).
FIRST_ORIGIN = (609_960.0, 7_790_040.0)
#: Gap between neighbouring scenes, in metres.
SCENE_GAP_M = 3_000.0
#: Most periods a world holds (yearly, from 2019).
MAX_PERIODS = 12


@dataclass(frozen=True)
class WorldSize:
    """How big a world is.

    Attributes:
        scenes: number of scenes, laid out west to east.
        recipe: what each scene holds.
        not_mine_per_scene: ``not_mine`` discovery patches cut from each scene.
        ore_patches_per_mine: ore-type patches cut inside each mine's pit.
    """

    scenes: int
    recipe: SceneRecipe
    not_mine_per_scene: int
    ore_patches_per_mine: int


_DEMO_RECIPE = SceneRecipe(
    (780, 780),
    6,
    2,
    ("lake", "irrigation_dam", "river_bank", "city", "construction"),
)

#: The sizes: ``small`` for tests (seconds, a few MB), ``demo`` to train on (< 200 MB),
#: ``large`` twice the demo's places (32 dams rather than 16, for shapes that generalise).
WORLD_SIZES: dict[str, WorldSize] = {
    "small": WorldSize(
        2,
        SceneRecipe((360, 720), 2, 1, ("lake", "irrigation_dam", "river_bank", "construction"), clouds=0.01),
        3,
        2,
    ),
    # Eight smaller scenes rather than four large ones: a spatial split holds out whole
    # places, so more places leave more variety to train on.
    "demo": WorldSize(8, _DEMO_RECIPE, 8, 3),
    "large": WorldSize(16, _DEMO_RECIPE, 8, 3),
}
SizeName = Literal["small", "demo", "large"]


def make_world(out: str | Path, seed: int = 0, size: SizeName = "demo", periods: int = 1) -> Path:
    """Generate a synthetic world into ``out``.

    The world is built in a hidden sibling folder and renamed into place when complete,
    so an interrupted run never leaves a world that looks finished.

    Args:
        out: folder to create (or an existing empty one).
        seed: random seed; the same seed gives the same bytes.
        size: ``small`` (tests), ``demo`` or ``large``.
        periods: number of yearly periods each place is written at (1: no periods).

    Returns:
        ``out``.

    Raises:
        MinegeoInputError: if ``size`` or ``periods`` is invalid or ``out`` is a non-empty
            folder or a file.
    """
    if size not in WORLD_SIZES:
        raise MinegeoInputError(
            f"synthetic world size={size!r} is unknown; expected one of {sorted(WORLD_SIZES)}"
        )
    if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS:
        raise MinegeoInputError(
            f"synthetic world periods={periods!r} is not valid; expected a whole number 1..{MAX_PERIODS}"
        )
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MinegeoInputError(f"{out}: already exists and is not empty; expected a new or empty folder")
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        if periods == 1:
            _generate(partial, seed, size)
        else:
            _generate_series(partial, seed, size, periods)
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out


def ensure_world(root: str | Path, seed: int = 0, size: SizeName = "demo", periods: int = 1) -> Path:
    """Generate the world at ``root`` unless ``root/world.json`` is already there.

    Args:
        root: the world's folder.
        seed: random seed, used only when generating.
        size: world size, used only when generating.
        periods: yearly periods, used only when generating.

    Returns:
        ``root``.

    Raises:
        MinegeoInputError: if the world there holds other bands than this generator writes.
    """
    root = Path(root)
    if (root / "world.json").is_file():
        _check_bands(root)
        return root
    try:
        make_world(root, seed, size, periods)
    except OSError:
        # Another process renamed its finished world into place first.
        if not (root / "world.json").is_file():
            raise
    return root


def _check_bands(root: Path) -> None:
    try:
        bands = json.loads((root / "world.json").read_text(encoding="utf-8")).get("bands")
    except (OSError, ValueError, AttributeError):
        bands = None
    if bands != list(spectra.BANDS):
        raise MinegeoInputError(
            f"{root}: the world there holds bands {bands}, not the {len(spectra.BANDS)} this "
            f"generator writes ({','.join(spectra.BANDS)}); delete the folder to have it generated again"
        )


def write_earth_engine_tiles(scene: Path, out_dir: Path, tile_px: int) -> list[Path]:
    """Split a scene into the pieces Earth Engine exports a large image as.

    Pieces are named ``<stem>-RRRRRRRRRR-CCCCCCCCCC.tif`` after their pixel row and column
    offsets (10 digits), keep the scene's grid, bands and compression, and are
    ``tile_px`` square except at the right and bottom edges.

    Args:
        scene: the GeoTIFF to split.
        out_dir: folder for the pieces (created).
        tile_px: side of a piece in pixels.

    Returns:
        the pieces, row by row.

    Raises:
        MinegeoInputError: if ``tile_px`` is not positive or the scene is unreadable.
    """
    if tile_px < 1:
        raise MinegeoInputError(
            f"{scene}: tile_px={tile_px} is not a tile size; expected a positive pixel count"
        )
    written = []
    with open_raster(scene) as src:
        # rasterio's profile leaves the predictor out; the pieces keep the scene's.
        predictor = src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR", "1")
        for row in range(0, src.height, tile_px):
            for col in range(0, src.width, tile_px):
                window = Window(col, row, min(tile_px, src.width - col), min(tile_px, src.height - row))
                path = Path(out_dir) / f"{Path(scene).stem}-{row:010d}-{col:010d}.tif"
                profile = {
                    **src.profile,
                    "predictor": int(predictor),
                    "width": window.width,
                    "height": window.height,
                    "transform": src.window_transform(window),
                }
                with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
                    dst.write(src.read(window=window))
                    dst.descriptions = src.descriptions
                written.append(path)
    return written


def _generate(root: Path, seed: int, size: str) -> None:
    """Write every file of the world into ``root``; world.json last."""
    spec = WORLD_SIZES[size]
    rng = np.random.default_rng(seed)
    scenes, spots = [], []
    next_ids = Counter({"m": 1, "d": 1, "l": 1, "not_mine": 1, "no_ore": 1})
    for index, scene_rng in enumerate(rng.spawn(spec.scenes)):
        origin = (
            FIRST_ORIGIN[0] + index * (spec.recipe.shape[1] * RESOLUTION + SCENE_GAP_M),
            FIRST_ORIGIN[1],
        )
        ids = (next_ids["m"], next_ids["d"], next_ids["l"])
        scene = make_scene(scene_rng, spec.recipe, f"scene_{index:02d}", origin, ids)
        next_ids.update(Counter(f.id[0] for f in scene.features))
        (root / "scenes").mkdir(exist_ok=True)
        write_raster(root / "scenes" / f"{scene.stem}.tif", scene.bands, scene.transform)
        scene_spots = _patch_spots(scene_rng, scene, spec, next_ids)
        _write_patches(root, scene, scene_spots)
        spots += scene_spots
        scene.bands = scene.bands[:, :0, :0]  # the pixels are on disk; keep memory flat
        scenes.append(scene)
    _write_vectors(root, rng, scenes, spots, seed, size)


def _origin(index: int, spec: WorldSize) -> tuple[float, float]:
    return (FIRST_ORIGIN[0] + index * (spec.recipe.shape[1] * RESOLUTION + SCENE_GAP_M), FIRST_ORIGIN[1])


def _generate_series(root: Path, seed: int, size: str, periods: int) -> None:
    """Write a world whose places are seen at ``periods`` periods; world.json last."""
    spec = WORLD_SIZES[size]
    rng = np.random.default_rng(seed)
    labels = timeline.period_labels(periods)
    places, spots = [], []
    next_ids = Counter({"m": 1, "d": 1, "l": 1, "not_mine": 1, "no_ore": 1})
    (root / "scenes").mkdir()
    for index, place_rng in enumerate(rng.spawn(spec.scenes)):
        ids = (next_ids["m"], next_ids["d"], next_ids["l"])
        scenes, lives = timeline.make_scene_series(
            place_rng, spec.recipe, f"scene_{index:02d}", _origin(index, spec), ids, labels
        )
        next_ids.update(Counter(f.id[0] for f in scenes[0].features))
        for scene in scenes:
            write_raster(root / "scenes" / f"{scene.stem}.tif", scene.bands, scene.transform)
        gone = {f.id for f, life in zip(scenes[-1].features, lives, strict=True) if life.scales[-1] == 0}
        place_spots = [
            spot
            for spot in _patch_spots(place_rng, scenes[-1], spec, next_ids)
            if spot.id.split("-")[0] not in gone
        ]
        _write_patches(root, scenes[-1], place_spots)
        spots += place_spots
        for scene in scenes:
            scene.bands = scene.bands[:, :0, :0]
        places.append((scenes, lives))
    _write_series_vectors(root, rng, places, spots, (seed, size, labels))


def _write_series_vectors(
    root: Path,
    rng: np.random.Generator,
    places: list[tuple[list[Scene], list[timeline.Lifecycle]]],
    spots: list[patches.PatchSpot],
    world: tuple[int, str, list[str]],
) -> None:
    """labels (with periods), look-alikes, concessions, the ANM list, and world.json."""
    seed, size, labels = world
    last = [scenes[-1] for scenes, _ in places]
    registered = registries.set_registration(rng, last, REGISTERED_SHARE)
    frame = registries.series_labels_frame(places, registered, labels)
    registries.write_gpkg(frame, root / "labels.gpkg")
    by_period = registries.period_labels_frame(places, registered, labels)
    registries.write_gpkg(by_period, root / "labels_by_period.gpkg")
    registries.write_gpkg(registries.lookalikes_frame(last), root / "lookalikes.gpkg")
    registries.write_gpkg(registries.concessions_frame(rng, frame), root / "registered.gpkg")
    anm_ids = registries.write_anm(rng, frame, root / "anm_dams.tsv")
    every_scene = [scene for scenes, _ in places for scene in scenes]
    summary = _summary(every_scene, spots, frame, anm_ids, seed, size)
    summary["counts"]["lookalikes"] = dict(
        sorted(Counter(f.kind for s in last for f in s.features[_mined(s) :]).items())
    )
    summary["periods"] = labels
    summary["lives"] = {row.id: row.life for row in frame.itertuples()}
    (root / "world.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _patch_spots(
    rng: np.random.Generator, scene: Scene, spec: WorldSize, next_ids: Counter[str]
) -> list[patches.PatchSpot]:
    """Every patch cut from one scene (``next_ids`` numbers the random negatives)."""
    found = patches.on_mines(rng, scene, ("mine", "tailings_dam"))
    negatives = patches.negatives(
        rng, scene, "not_mine", patches.DISCOVERY_PX, spec.not_mine_per_scene, next_ids["not_mine"]
    )
    ore = patches.on_ore(rng, scene, spec.ore_patches_per_mine)
    no_ore = patches.negatives(
        rng, scene, "no_ore", patches.ORETYPE_PX, (len(ore) + 1) // 2, next_ids["no_ore"]
    )
    next_ids.update(Counter(s.cls for s in [*negatives, *no_ore] if s.id.startswith("r")))
    return [*found, *negatives, *ore, *no_ore]


def _write_patches(root: Path, scene: Scene, spots: list[patches.PatchSpot]) -> None:
    for spot in spots:
        task = "discovery" if spot.cls in ("mine", "not_mine") else "oretype"
        size = patches.DISCOVERY_PX if task == "discovery" else patches.ORETYPE_PX
        folder = root / "patches" / task / spot.cls
        folder.mkdir(parents=True, exist_ok=True)
        block, transform = cut(scene, spot.row, spot.col, size)
        write_raster(folder / f"{spot.cls}_{spot.id}.tif", block, transform, tiled=False)


def _write_vectors(
    root: Path,
    rng: np.random.Generator,
    scenes: list[Scene],
    spots: list[patches.PatchSpot],
    seed: int,
    size: str,
) -> None:
    """labels, look-alikes, concessions, the ANM list, and world.json."""
    registered = registries.set_registration(rng, scenes, REGISTERED_SHARE)
    labels = registries.labels_frame(scenes, registered)
    registries.write_gpkg(labels, root / "labels.gpkg")
    registries.write_gpkg(registries.lookalikes_frame(scenes), root / "lookalikes.gpkg")
    registries.write_gpkg(registries.concessions_frame(rng, labels), root / "registered.gpkg")
    anm_ids = registries.write_anm(rng, labels, root / "anm_dams.tsv")
    summary = _summary(scenes, spots, labels, anm_ids, seed, size)
    (root / "world.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _summary(
    scenes: list[Scene],
    spots: list[patches.PatchSpot],
    labels: gpd.GeoDataFrame,
    anm_ids: list[str],
    seed: int,
    size: str,
) -> dict[str, Any]:
    """The contents of world.json."""
    unregistered = sorted(labels.loc[~labels["registered"], "id"])
    return {
        "seed": seed,
        "size": size,
        "crs": CRS,
        "resolution_m": RESOLUTION,
        "bands": list(spectra.BANDS),
        "scenes": [_scene_summary(scene) for scene in scenes],
        "unregistered": unregistered,
        "registered": sorted(labels.loc[labels["registered"], "id"]),
        "anm_dams": {str(number): dam for number, dam in enumerate(anm_ids, start=1)},
        "counts": {
            "mine": int((labels["class"] == "mine").sum()),
            "tailings_dam": int((labels["class"] == "tailings_dam").sum()),
            "lookalikes": dict(
                sorted(Counter(f.kind for s in scenes for f in s.features[_mined(s) :]).items())
            ),
            "patches": dict(sorted(Counter(s.cls for s in spots).items())),
        },
    }


def _mined(scene: Scene) -> int:
    return sum(f.kind in ("mine", "tailings_dam") for f in scene.features)


def _scene_summary(scene: Scene) -> dict[str, Any]:
    height, width = scene.owner.shape
    left, top = scene.transform.c, scene.transform.f
    return {
        "stem": scene.stem,
        "path": f"scenes/{scene.stem}.tif",
        "width": width,
        "height": height,
        "bounds": [left, top - height * RESOLUTION, left + width * RESOLUTION, top],
        "features": {f.id: f.kind for f in scene.features},
    }
