"""Tests for reference masks: finding each map's mask and reading its classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.transform import from_origin

from minegeo.errors import MinegeoInputError
from minegeo.evaluation.maps import read_map_header
from minegeo.evaluation.masks import MaskFolder
from minegeo.evaluation.reference import ScenePair
from tests.evaluation.rasters import square, write_map, write_mask


def _map(folder: Path, stem: str) -> Path:
    return write_map(folder / f"{stem}.prob.tif", square(4, slice(0, 1), slice(0, 1)))


@pytest.mark.parametrize("name", ["mask/mask_7.tif", "img_7.tif", "mask/img_7.tif"])
def test_mask_is_found_by_each_layout(tmp_path: Path, name: str) -> None:
    write_mask(tmp_path / "truth" / name, np.zeros((4, 4)))
    prob_map = read_map_header(_map(tmp_path / "maps", "img_7"))
    assert MaskFolder(tmp_path / "truth", {1: "tailings_dam"}).find(prob_map) == tmp_path / "truth" / name


def test_maps_without_mask_are_listed(tmp_path: Path) -> None:
    write_mask(tmp_path / "truth/mask/mask_1.tif", np.zeros((4, 4)))
    maps = [read_map_header(_map(tmp_path / "maps", stem)) for stem in ("img_1", "img_2")]
    pairs, unmatched = MaskFolder(tmp_path / "truth", {1: "tailings_dam"}).pair(maps)
    assert [pair.prob_map.stem for pair in pairs] == ["img_1"]
    assert unmatched == [tmp_path / "maps/img_2.prob.tif"]


def test_mask_values_map_to_classes_and_255_and_nodata_are_ignored(tmp_path: Path) -> None:
    mask = np.array([[0, 1, 2, 255, 9]], dtype=np.uint8)
    path = write_mask(tmp_path / "m.tif", mask, nodata=9)
    prob_map = read_map_header(
        write_map(tmp_path / "x.prob.tif", np.zeros((3, 1, 5)), ("background", "mine", "tailings_dam"))
    )
    folder = MaskFolder(tmp_path, {0: "background", 1: "tailings_dam", 2: "mine"})
    reference = folder.load(ScenePair(prob_map, path))
    assert folder.classes == ("tailings_dam", "mine")
    assert reference.truth["tailings_dam"].tolist() == [[False, True, False, False, False]]
    assert reference.truth["mine"].tolist() == [[False, False, True, False, False]]
    assert reference.valid.tolist() == [[True, True, True, False, False]]


def test_mask_that_does_not_overlap_its_map_is_refused(tmp_path: Path) -> None:
    mask = write_mask(
        tmp_path / "truth/mask/mask_1.tif", np.zeros((4, 4)), transform=from_origin(0, 0, 10, 10)
    )
    prob_map = read_map_header(_map(tmp_path / "maps", "img_1"))
    with pytest.raises(MinegeoInputError, match=r"img_1\.prob\.tif: does not overlap its mask .*mask_1\.tif"):
        MaskFolder(tmp_path / "truth", {1: "tailings_dam"}).check(ScenePair(prob_map, mask))


def test_class_the_map_lacks_is_refused(tmp_path: Path) -> None:
    mask = write_mask(tmp_path / "truth/mask/mask_1.tif", np.zeros((4, 4)))
    prob_map = read_map_header(_map(tmp_path / "maps", "img_1"))
    with pytest.raises(
        MinegeoInputError, match=r"img_1\.prob\.tif: no band for class mine \(from mask_values\)"
    ):
        MaskFolder(tmp_path / "truth", {2: "mine"}).check(ScenePair(prob_map, mask))


def test_unreadable_mask_is_named(tmp_path: Path) -> None:
    (tmp_path / "truth/mask").mkdir(parents=True)
    (tmp_path / "truth/mask/mask_1.tif").write_text("garbage")
    prob_map = read_map_header(_map(tmp_path / "maps", "img_1"))
    with pytest.raises(MinegeoInputError, match=r"mask_1\.tif: not a readable GeoTIFF mask"):
        MaskFolder(tmp_path / "truth", {1: "tailings_dam"}).check(
            ScenePair(prob_map, tmp_path / "truth/mask/mask_1.tif")
        )


def test_mask_values_without_a_class_to_score_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match="no class to score"):
        MaskFolder(tmp_path, {0: "background"})
