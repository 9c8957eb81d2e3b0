"""Tests for reading probability maps onto a grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.transform import from_origin

from minegeo.errors import MinegeoInputError
from minegeo.evaluation.grid import Grid
from minegeo.evaluation.maps import find_maps, read_map_header, read_probabilities
from tests.evaluation.rasters import ORIGIN, UTM, square, write_map


def test_uint8_map_is_read_through_its_scale_tag(tmp_path: Path) -> None:
    probs = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float32)
    prob_map = read_map_header(write_map(tmp_path / "a.prob.tif", probs, dtype="uint8"))
    read = read_probabilities(prob_map, ["tailings_dam"])[0]
    assert read[0, 0] == 0.0 and read[0, 1] == 0.5 and read[1, 0] == 1.0
    assert np.isnan(read[1, 1])


def test_float32_map_keeps_nan_nodata(tmp_path: Path) -> None:
    probs = np.array([[0.25, np.nan]], dtype=np.float32)
    prob_map = read_map_header(write_map(tmp_path / "a.prob.tif", probs))
    read = read_probabilities(prob_map, ["tailings_dam", "background"])
    assert read[0, 0, 0] == 0.25 and read[1, 0, 0] == 0.75
    assert np.isnan(read[:, 0, 1]).all()


def test_header_gives_classes_stem_and_grid(tmp_path: Path) -> None:
    prob_map = read_map_header(write_map(tmp_path / "img_3.prob.tif", square(4, slice(0, 1), slice(0, 1))))
    assert prob_map.classes == ("background", "tailings_dam")
    assert prob_map.stem == "img_3"
    assert prob_map.grid == Grid(prob_map.grid.crs, ORIGIN, 4, 4)


def test_finer_aligned_map_resamples_exactly_at_the_threshold(tmp_path: Path) -> None:
    # 5 m map, 10 m target: a 4x4 target square is 8x8 map pixels on the same edges
    fine = square(40, slice(8, 16), slice(8, 16))
    prob_map = read_map_header(
        write_map(tmp_path / "a.prob.tif", fine, transform=from_origin(500_000, 8_000_000, 5, 5))
    )
    target = Grid(prob_map.grid.crs, ORIGIN, 20, 20)
    read = read_probabilities(prob_map, ["tailings_dam"], target)[0]
    assert np.array_equal(read >= 0.5, square(20, slice(4, 8), slice(4, 8)) > 0)


def test_target_beyond_the_map_is_nan(tmp_path: Path) -> None:
    prob_map = read_map_header(write_map(tmp_path / "a.prob.tif", square(10, slice(0, 10), slice(0, 10))))
    shifted = Grid(prob_map.grid.crs, from_origin(500_050, 8_000_000, 10, 10), 10, 10)
    read = read_probabilities(prob_map, ["tailings_dam"], shifted)[0]
    assert np.isnan(read[:, 6:]).all() and (read[:, :4] == 1.0).all()


def test_map_without_overlap_is_refused(tmp_path: Path) -> None:
    prob_map = read_map_header(write_map(tmp_path / "a.prob.tif", square(10, slice(0, 1), slice(0, 1))))
    far = Grid(prob_map.grid.crs, from_origin(600_000, 8_000_000, 10, 10), 10, 10)
    with pytest.raises(MinegeoInputError, match=r"a\.prob\.tif: does not overlap"):
        read_probabilities(prob_map, ["tailings_dam"], far)


def test_folder_without_maps_is_refused(tmp_path: Path) -> None:
    (tmp_path / "scene.tif").write_bytes(b"")
    with pytest.raises(MinegeoInputError, match=r"no \*\.prob\.tif found"):
        find_maps(tmp_path)


def test_half_written_dot_files_are_not_maps(tmp_path: Path) -> None:
    write_map(tmp_path / "a.prob.tif", square(2, slice(0, 1), slice(0, 1)))
    write_map(tmp_path / ".b.prob.tif", square(2, slice(0, 1), slice(0, 1)))
    assert find_maps(tmp_path) == [tmp_path / "a.prob.tif"]


def test_unreadable_map_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.prob.tif").write_text("not a tiff")
    with pytest.raises(MinegeoInputError, match=r"bad\.prob\.tif: not a readable GeoTIFF"):
        read_map_header(tmp_path / "bad.prob.tif")


def test_uint8_map_without_scale_tag_is_refused(tmp_path: Path) -> None:
    import rasterio

    path = tmp_path / "raw.prob.tif"
    with rasterio.open(
        path, "w", driver="GTiff", height=2, width=2, count=1, dtype="uint8", crs=UTM, transform=ORIGIN
    ) as dst:
        dst.write(np.zeros((1, 2, 2), dtype=np.uint8))
        dst.set_band_description(1, "tailings_dam")
    with pytest.raises(MinegeoInputError, match="without a scale tag"):
        read_probabilities(read_map_header(path), ["tailings_dam"])
