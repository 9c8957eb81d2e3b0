"""Tests for minegeo.datasets.patches: class folders, headers, crop/pad, balancing, footprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin

from minegeo import ORETYPE_CLASSES
from minegeo.datasets.patches import PatchFolder
from minegeo.errors import MinegeoInputError


def write_patch(
    path: Path,
    size: int = 9,
    bands: tuple[str, ...] | None = ("B2", "B3", "B4"),
    origin: tuple[float, float] = (500_000.0, 7_800_000.0),
    crs: str = "EPSG:32723",
    res: float = 10.0,
    value: float = 0.1,
) -> Path:
    """A tiny float32 GeoTIFF whose band i holds ``value * (i + 1)`` (count 12 when ``bands`` is None)."""
    count = 12 if bands is None else len(bands)
    data = np.stack([np.full((size, size), value * (i + 1), dtype=np.float32) for i in range(count)])
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": count,
        "dtype": "float32",
        "crs": crs,
        "transform": from_origin(*origin, res, res),
        "nodata": float("nan"),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if bands is not None:
            dst.descriptions = bands
    return path


def make_folder(root: Path, counts: dict[str, int], **kwargs: object) -> Path:
    """Class folders under ``root`` with ``counts[class]`` patches each, spaced 1 km apart."""
    for k, (name, count) in enumerate(counts.items()):
        for i in range(count):
            origin = (500_000.0 + 1000 * i, 7_800_000.0 - 1000 * k)
            write_patch(root / name / f"{name}_{i}.tif", origin=origin, **kwargs)  # type: ignore[arg-type]
    return root


def test_classes_come_from_sorted_folder_names(tmp_path: Path) -> None:
    folder = PatchFolder(make_folder(tmp_path, {"not_mine": 1, "mine": 2}), patch_size=9)
    assert folder.class_names == ("mine", "not_mine")
    assert list(folder.labels) == [0, 0, 1]


def test_sample_holds_image_label_and_path(tmp_path: Path) -> None:
    folder = PatchFolder(make_folder(tmp_path, {"mine": 1}), patch_size=9)
    sample = folder[0]
    assert sample["image"].dtype == torch.float32
    assert sample["image"].shape == (3, 9, 9)
    assert sample["label"] == 0
    assert sample["path"].endswith("mine_0.tif")


def test_bands_are_chosen_by_name(tmp_path: Path) -> None:
    folder = PatchFolder(make_folder(tmp_path, {"mine": 1}), bands=["B4", "B2"], patch_size=9)
    image = folder[0]["image"]
    assert image[:, 0, 0].tolist() == pytest.approx([0.3, 0.1])


def test_undescribed_twelve_band_files_default_to_b1_to_b12(tmp_path: Path) -> None:
    folder = PatchFolder(make_folder(tmp_path, {"mine": 1}, bands=None), bands=["B12"], patch_size=9)
    assert folder[0]["image"][0, 0, 0].item() == pytest.approx(1.2)


def test_reflectance_scale_multiplies_stored_values(tmp_path: Path) -> None:
    folder = PatchFolder(
        make_folder(tmp_path, {"mine": 1}, value=1000.0), patch_size=9, reflectance_scale=1e-4
    )
    assert folder[0]["image"][0, 0, 0].item() == pytest.approx(0.1)


def test_larger_files_are_centre_cropped(tmp_path: Path) -> None:
    path = write_patch(tmp_path / "mine" / "a.tif", size=7)
    with rasterio.open(path, "r+") as dst:
        data = dst.read()
        data[:, 3, 3] = 5.0
        dst.write(data)
    image = PatchFolder(tmp_path, patch_size=3)[0]["image"]
    assert image.shape == (3, 3, 3)
    assert image[0, 1, 1].item() == 5.0


def test_smaller_files_are_padded_with_nan(tmp_path: Path) -> None:
    write_patch(tmp_path / "mine" / "a.tif", size=3)
    image = PatchFolder(tmp_path, patch_size=5)[0]["image"]
    assert image.shape == (3, 5, 5)
    assert torch.isnan(image[:, 0]).all()
    assert torch.isfinite(image[:, 1:4, 1:4]).all()


def test_balance_keeps_the_smallest_class_count(tmp_path: Path) -> None:
    folder = PatchFolder(make_folder(tmp_path, {"a": 5, "b": 2}), patch_size=9, balance=True)
    assert np.bincount(folder.labels).tolist() == [2, 2]


def test_balance_is_seeded(tmp_path: Path) -> None:
    root = make_folder(tmp_path, {"a": 8, "b": 2})
    paths = [[str(f.path) for f in PatchFolder(root, balance=True, seed=s).files] for s in (1, 1, 2)]
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


def test_unexpected_class_folder_is_an_error(tmp_path: Path) -> None:
    make_folder(tmp_path, {"mine": 1, "lake": 1})
    with pytest.raises(MinegeoInputError, match="unexpected: \\['lake'\\]"):
        PatchFolder(tmp_path, class_names=["mine"])


def test_missing_class_folder_is_an_error(tmp_path: Path) -> None:
    make_folder(tmp_path, {"high_impact": 1, "low_impact": 1})
    with pytest.raises(MinegeoInputError, match="missing: \\['no_ore'\\]"):
        PatchFolder(tmp_path, class_names=ORETYPE_CLASSES)


def test_empty_class_folder_is_an_error(tmp_path: Path) -> None:
    make_folder(tmp_path, {"mine": 1})
    (tmp_path / "not_mine").mkdir()
    with pytest.raises(MinegeoInputError, match="not_mine: empty class folder"):
        PatchFolder(tmp_path)


def test_corrupt_file_is_named_at_construction(tmp_path: Path) -> None:
    make_folder(tmp_path, {"mine": 1})
    (tmp_path / "mine" / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(MinegeoInputError, match=r"broken\.tif"):
        PatchFolder(tmp_path)


def test_missing_band_is_named_at_construction(tmp_path: Path) -> None:
    make_folder(tmp_path, {"mine": 1})
    with pytest.raises(MinegeoInputError, match=r"mine_0\.tif: missing band\(s\) B8"):
        PatchFolder(tmp_path, bands=["B2", "B8"])


def test_wrong_band_count_is_named_at_construction(tmp_path: Path) -> None:
    write_patch(tmp_path / "mine" / "odd.tif", bands=None)
    with rasterio.open(tmp_path / "mine" / "odd.tif") as src:
        profile, data = src.profile, src.read()
    with rasterio.open(tmp_path / "mine" / "odd.tif", "w", **{**profile, "count": 5}) as dst:
        dst.write(data[:5])
    with pytest.raises(MinegeoInputError, match=r"odd\.tif: 5 bands without names"):
        PatchFolder(tmp_path)


def test_footprints_are_file_bounds(tmp_path: Path) -> None:
    folder = PatchFolder(make_folder(tmp_path, {"mine": 2}), patch_size=9)
    footprints = folder.footprints()
    assert footprints.crs.to_epsg() == 32723
    assert list(footprints["label"]) == [0, 0]
    assert footprints.geometry.iloc[1].bounds == pytest.approx((501_000, 7_799_910, 501_090, 7_800_000))


def test_footprints_in_another_crs_are_reprojected(tmp_path: Path) -> None:
    write_patch(tmp_path / "mine" / "a.tif")
    write_patch(tmp_path / "mine" / "b.tif", crs="EPSG:4326", origin=(-45.0, -20.0), res=1e-4)
    footprints = PatchFolder(tmp_path, patch_size=9).footprints()
    assert footprints.crs.to_epsg() == 32723
    assert footprints.geometry.iloc[1].area == pytest.approx(90 * 90 * 1.1, rel=0.2)


def test_resolution_is_in_metres_for_geographic_files(tmp_path: Path) -> None:
    write_patch(tmp_path / "mine" / "a.tif", crs="EPSG:4326", origin=(-45.0, 0.0), res=9e-5)
    assert PatchFolder(tmp_path, patch_size=9).resolution_m == pytest.approx(10.0, rel=0.01)
