"""Tests for the cheap checks of a run's files, made before any model loads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from minegeo.errors import MinegeoInputError
from minegeo.inference.preflight import check_files, check_out, list_inputs
from minegeo.inference.settings import load_settings


def scenes(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"II*\x00")
    return folder


def settings(tmp_path: Path, **overrides: object) -> object:
    (tmp_path / "m.ckpt").write_bytes(b"")
    base = {"ckpt": str(tmp_path / "m.ckpt"), "input": str(scenes(tmp_path / "in", "a.tif")), "out": "x"}
    return load_settings(OmegaConf.create({**base, **overrides}))


def test_folder_glob_and_file_inputs_are_listed(tmp_path: Path) -> None:
    folder = scenes(tmp_path / "in", "b.tif", "a.TIF", "notes.txt")

    assert [p.name for p in list_inputs(folder)] == ["a.TIF", "b.tif"]
    assert [p.name for p in list_inputs(f"{folder}/b*")] == ["b.tif"]
    assert list_inputs(folder / "b.tif") == [folder / "b.tif"]


def test_input_matching_nothing_names_it(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"^input=.*nothing: no GeoTIFF found"):
        list_inputs(tmp_path / "nothing")


@pytest.mark.parametrize("key", ["ckpt", "oretype.ckpt", "registry.concessions", "registry.dams"])
def test_missing_file_names_its_key(tmp_path: Path, key: str) -> None:
    missing = str(tmp_path / "missing.file")
    node, _, leaf = key.rpartition(".")
    overrides = {node: {leaf: missing}} if node else {key: missing}

    with pytest.raises(MinegeoInputError, match=f"^{key}=.*missing.file: file not found"):
        check_files(settings(tmp_path, **overrides))  # type: ignore[arg-type]


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")

    with pytest.raises(MinegeoInputError, match=r"out=.*afile: is a file; expected a folder"):
        check_out(tmp_path / "afile", tmp_path, [])
    with pytest.raises(MinegeoInputError, match="afile is a file; expected a folder"):
        check_out(tmp_path / "afile" / "maps", tmp_path, [])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)

    with pytest.raises(MinegeoInputError, match="is not writable"):
        check_out(locked / "maps", tmp_path, [])


def test_out_holding_the_inputs_is_refused(tmp_path: Path) -> None:
    folder = scenes(tmp_path / "in", "a.tif")

    with pytest.raises(MinegeoInputError, match="maps would be read back as scenes"):
        check_out(folder, folder, list_inputs(folder))
    with pytest.raises(MinegeoInputError, match="maps would be read back as scenes"):
        check_out(tmp_path, f"{tmp_path}/*/*.tif", list_inputs(f"{tmp_path}/*/*.tif"))


def test_out_beside_a_single_input_file_is_fine(tmp_path: Path) -> None:
    folder = scenes(tmp_path / "in", "a.tif")

    check_out(folder, folder / "a.tif", [folder / "a.tif"])
    check_out(tmp_path / "new" / "maps", folder, list_inputs(folder))
    assert not (tmp_path / "new").exists()  # checking writes nothing
