"""Checks of a predict run's files that cost nothing: run before any heavy import.

A missing checkpoint, an input that matches nothing or an output folder that cannot be
used is one line within a second of the command, not after the models have loaded.
Only the standard library is imported here.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from minegeo.errors import MinegeoInputError
from minegeo.inference.settings import PredictSettings

#: suffixes of the scenes a folder input holds
SCENE_SUFFIXES = (".tif", ".tiff")


def list_inputs(spec: str | Path) -> list[Path]:
    """The GeoTIFFs named by a file, a folder (its ``*.tif``) or a glob, sorted.

    Raises:
        MinegeoInputError: if nothing matches.
    """
    spec_path = Path(spec)
    if spec_path.is_dir():
        files = sorted(p for p in spec_path.iterdir() if p.suffix.lower() in SCENE_SUFFIXES)
    elif spec_path.is_file():
        files = [spec_path]
    else:
        files = sorted(Path(p) for p in glob.glob(str(spec)) if Path(p).is_file())
    if not files:
        raise MinegeoInputError(
            f"input={spec}: no GeoTIFF found (expected a file, a folder of .tif or a glob)"
        )
    return files


def check_files(settings: PredictSettings) -> None:
    """Every file the run names exists, and the output folder can take the maps.

    Raises:
        MinegeoInputError: one line naming the key and the path.
    """
    for ckpt in settings.checkpoints:
        _must_be_file("ckpt", ckpt)
    optional = {
        "oretype.ckpt": settings.oretype.ckpt,
        "registry.concessions": settings.registry.concessions,
        "registry.dams": settings.registry.dams,
    }
    for key, path in optional.items():
        if path is not None:
            _must_be_file(key, path)
    check_out(settings.out, settings.input, list_inputs(settings.input))


def check_out(out: str | Path, spec: str | Path, inputs: list[Path]) -> None:
    """The output folder is a writable folder (or can be made) that holds none of the inputs.

    Maps written among the inputs of a folder or a glob would be read back as scenes by
    the next run of the same command.

    Raises:
        MinegeoInputError: naming ``out`` and what is wrong with it.
    """
    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise MinegeoInputError(f"out={out}: is a file; expected a folder (new or existing)")
    existing = next(p for p in (out_path.absolute(), *out_path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise MinegeoInputError(f"out={out}: {existing} is a file; expected a folder (new or existing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise MinegeoInputError(
            f"out={out}: {existing} is not writable; expected a folder this user can write"
        )
    if Path(spec).is_file():
        return
    resolved = out_path.resolve()
    inside = [path for path in inputs if path.resolve().is_relative_to(resolved)]
    if inside:
        raise MinegeoInputError(
            f"out={out}: holds the input {inside[0]}, so maps would be read back as scenes; "
            "expected a folder apart from the input"
        )


def _must_be_file(key: str, path: str) -> None:
    if not Path(path).is_file():
        raise MinegeoInputError(f"{key}={path}: file not found")
