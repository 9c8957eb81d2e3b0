"""Ore-type stage: the paper's impact CNN on a small scene window around each detection.

Windows are cut from the *scene* (not the probability raster) with windowed reads and
classified in batches; windows that run off the scene are padded with nodata, which the
bundle's normalisation turns into zeros. Detections of a dropped class (the paper drops
``no_ore``) leave the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import torch
from pyproj import Transformer
from rasterio.windows import Window
from torch import nn

from minegeo.bundle import Bundle, load_bundle
from minegeo.datasets.raster import open_raster, read_reflectance
from minegeo.errors import MinegeoInputError


def _windows(
    detections: gpd.GeoDataFrame, scene_paths: Mapping[str, Path], bundle: Bundle
) -> Iterator[tuple[int, np.ndarray]]:
    """(row position, raw (C, P, P) window centred on the detection) for every detection."""
    side = bundle.patch_size
    half = side // 2
    positions = np.arange(len(detections))
    for scene, group in detections.assign(_position=positions).groupby("scene", sort=False):
        if scene not in scene_paths:
            raise MinegeoInputError(
                f"detections of scene '{scene}' have no scene file among {sorted(scene_paths)}"
            )
        with open_raster(scene_paths[str(scene)]) as src:
            to_scene = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
            xs, ys = to_scene.transform(group["lon"].to_numpy(), group["lat"].to_numpy())
            rows, cols = rasterio.transform.rowcol(src.transform, xs, ys)
            for position, row, col in zip(
                group["_position"], np.atleast_1d(rows), np.atleast_1d(cols), strict=True
            ):
                window = Window(int(col) - half, int(row) - half, side, side)
                bands = bundle.preprocessing.bands
                yield int(position), read_reflectance(src, bands, window, boundless=True, default_bands=bands)


def predict_ore_type(
    detections: gpd.GeoDataFrame,
    scene_paths: Mapping[str, Path],
    bundle: Bundle,
    model: nn.Module,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Ore-type class probabilities for each detection, one model call per batch.

    Args:
        detections: detections with ``scene``, ``lon`` and ``lat`` columns.
        scene_paths: scene file of each scene name.
        bundle: the ore-type checkpoint's bundle (bands, normalisation, patch size).
        model: the ore-type model, in eval mode.
        batch_size: windows per model call.

    Returns:
        the class index (into ``bundle.class_names``) and its probability, per detection.

    Raises:
        MinegeoInputError: for a missing scene or a scene lacking the model's bands.
    """
    device = next(model.parameters()).device
    classes = np.zeros(len(detections), dtype=np.int64)
    probabilities = np.zeros(len(detections), dtype=np.float32)
    windows = _windows(detections, scene_paths, bundle)
    while batch := list(islice(windows, batch_size)):
        positions = [position for position, _ in batch]
        raw = torch.from_numpy(np.stack([window for _, window in batch]))
        inputs, _ = bundle.preprocessing.normalize(raw)
        with torch.inference_mode():
            scores = torch.softmax(model(inputs.to(device)).flatten(1), dim=1).cpu()
        best, index = scores.max(dim=1)
        classes[positions], probabilities[positions] = index.numpy(), best.numpy()
    return classes, probabilities


@dataclass(frozen=True)
class OreTypeModel:
    """An ore-type checkpoint, loaded and checked against the run's settings."""

    bundle: Bundle
    model: nn.Module
    #: ore types whose detections leave the run
    drop_classes: tuple[str, ...]


def load_ore_type_model(ckpt: str | Path, drop_classes: Sequence[str] = ("no_ore",)) -> OreTypeModel:
    """Load the ore-type checkpoint (before the scan, so that a wrong one stops the run at once).

    Raises:
        MinegeoInputError: for a checkpoint that is not a window classifier, or drop
            classes it does not know.
    """
    bundle, model = load_bundle(ckpt)
    if bundle.kind != "classification":
        raise MinegeoInputError(
            f"oretype.ckpt={ckpt}: a {bundle.kind} model with classes {list(bundle.class_names)}; "
            "expected an ore-type window classifier"
        )
    unknown = [name for name in drop_classes if name not in bundle.class_names]
    if unknown:
        raise MinegeoInputError(
            f"{ckpt}: oretype.drop_classes {unknown} not among its classes {list(bundle.class_names)}"
        )
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    return OreTypeModel(bundle, model, tuple(drop_classes))


def run_ore_type_stage(
    detections: gpd.GeoDataFrame,
    scene_paths: Mapping[str, Path],
    ckpt: str | Path | OreTypeModel,
    drop_classes: Sequence[str] = ("no_ore",),
    batch_size: int = 256,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Classify each detection's ore type and split off the dropped classes.

    Args:
        detections: detections with ``scene``, ``lon`` and ``lat`` columns.
        scene_paths: scene file of each scene name.
        ckpt: the ore-type checkpoint (an OreTypeCNN bundle), or the model already loaded
            (whose drop classes then apply).
        drop_classes: ore types whose detections leave the run (with a checkpoint path).
        batch_size: windows per model call.

    Returns:
        (kept, dropped) detections, both with ``ore_type`` and ``ore_type_prob`` columns.

    Raises:
        MinegeoInputError: for a checkpoint that is not a window classifier, or drop
            classes it does not know.
    """
    ore = ckpt if isinstance(ckpt, OreTypeModel) else load_ore_type_model(ckpt, drop_classes)
    if batch_size < 1:
        raise MinegeoInputError(f"oretype.batch_size={batch_size}: expected a whole number >= 1")
    classes, probabilities = predict_ore_type(detections, scene_paths, ore.bundle, ore.model, batch_size)
    typed = detections.assign(
        ore_type=np.asarray(ore.bundle.class_names, dtype=object)[classes],
        ore_type_prob=probabilities.astype(float),
    )
    dropped = typed["ore_type"].isin(list(ore.drop_classes)).to_numpy()
    return typed[~dropped].reset_index(drop=True), typed[dropped].reset_index(drop=True)
