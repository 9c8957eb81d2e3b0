"""What makes a probability map finished: the checkpoint, the settings and the input it was made from.

Each ``<stem>.prob.tif`` carries, in its tags, hashes of the checkpoints, of the settings
that change its values (``OUTPUT_KEYS``) and of the scene's files. A rerun skips a scene
only when all three match, so a scene re-exported under the same name is predicted again
instead of keeping its old map. Tags hold nothing that changes from run to run (no date),
so a resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import rasterio

import minegeo
from minegeo.bundle import Bundle
from minegeo.inference.settings import PredictSettings

#: settings that change the probabilities or their encoding (resume compares them)
OUTPUT_KEYS = ("tile_size", "overlap", "fcn_cells", "tta", "dtype", "compress", "precision")
#: tags that must match for a map to count as finished
IDENTITY_TAGS = ("checkpoint_hash", "config_hash", "input_hash")
#: files up to this size are hashed whole (about a second); larger ones by samples
FULL_HASH_BYTES = 256 * 2**20
#: samples hashed of a larger file (head, tail and evenly spaced blocks), bytes each
SAMPLES, SAMPLE_BYTES = 64, 2**20


def output_tags(bundle: Bundle, hashes: Sequence[str], settings: PredictSettings) -> dict[str, str]:
    """Tags every map of the run carries: checkpoint and settings hashes, bands, classes, version."""
    values = {key: getattr(settings, key) for key in OUTPUT_KEYS}
    config_hash = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {
        "checkpoint_hash": ",".join(hashes),
        "config_hash": config_hash,
        "bands": ",".join(bundle.preprocessing.bands),
        "classes": ",".join(bundle.class_names),
        "minegeo_version": minegeo.__version__,
    }


def input_hash(sources: Sequence[Path]) -> str:
    """A hash of a scene's files (one, or the tiles of a mosaic): names, sizes and contents.

    Files up to ``FULL_HASH_BYTES`` are hashed whole. A larger one (a state-wide export
    runs to tens of GB) is hashed by its size, modification time, head (the TIFF header
    and tile index, which change whenever a block does), tail and ``SAMPLES`` blocks
    spread over it; the time stands in for the bytes no sample covers.
    """
    digest = hashlib.sha256()
    for source in sources:
        stat = source.stat()
        digest.update(f"{source.name}\0{stat.st_size}\0".encode())
        with source.open("rb") as file:
            if stat.st_size <= FULL_HASH_BYTES:
                while block := file.read(2**24):
                    digest.update(block)
                continue
            digest.update(str(stat.st_mtime_ns).encode())
            step = (stat.st_size - SAMPLE_BYTES) // (SAMPLES - 1)
            for k in range(SAMPLES):
                file.seek(k * step)
                digest.update(file.read(SAMPLE_BYTES))
    return digest.hexdigest()[:16]


def is_finished(target: Path, tags: dict[str, str]) -> bool:
    """Whether ``target`` is a complete map of this checkpoint, these settings and this input."""
    if not target.is_file():
        return False
    try:
        with rasterio.open(target) as src:
            found = src.tags()
    except rasterio.errors.RasterioError:
        return False
    return all(found.get(key) == tags.get(key) for key in IDENTITY_TAGS)
