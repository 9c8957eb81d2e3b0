"""The predict run: checkpoints and scenes in, probability COGs and the report out.

Resumable: a scene whose ``<stem>.prob.tif`` exists with this run's checkpoint and config
hashes in its tags is skipped, and outputs only ever appear complete, so a killed run
restarted with the same command ends as an uninterrupted one would.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rasterio
from omegaconf import DictConfig, OmegaConf
from torch import nn

import minegeo
from minegeo.datasets.raster import is_readable
from minegeo.errors import MinegeoInputError
from minegeo.inference.allocator import reuse_freed_memory
from minegeo.inference.engine import Predictor, SceneWriter, WindowDataModule
from minegeo.inference.reading import SceneJob
from minegeo.inference.scenes import Scene, check_scene, find_scenes
from minegeo.inference.tiling import make_plan
from minegeo.tasks.bundle import Bundle, checkpoint_hash, load_bundle

#: config keys that change the probabilities or their encoding (resume compares them)
OUTPUT_KEYS = ("tile_size", "overlap", "fcn_cells", "tta", "dtype", "compress", "precision")
#: exit code when some scenes failed and the others were done
EXIT_SOME_FAILED = 2


def run_predict(cfg: DictConfig) -> int:
    """Predict every scene of ``cfg.input`` into ``cfg.out``; returns the exit code.

    Args:
        cfg: the predict config (``conf/predict.yaml``).

    Returns:
        0 when every scene is done, 2 when some failed (each reported on one line).

    Raises:
        MinegeoInputError: for a bad checkpoint, config or input that stops the whole run.
    """
    import lightning as L

    bundles, models, hashes = load_models(_as_list(cfg.ckpt))
    bundle, out_dir = bundles[0], Path(cfg.out)
    tags = output_tags(bundle, hashes, cfg)
    scenes = find_scenes(cfg.input, out_dir / ".mosaics", mosaic=bool(cfg.mosaic))
    jobs, failed = make_jobs(scenes, bundle, out_dir, cfg, tags)
    todo = [job for job in jobs if not is_finished(job.target, tags)]
    if todo:
        if _keeps_freed_memory(cfg.reuse_freed_memory):
            reuse_freed_memory()
        geometry = bundle.geometry
        predictor = Predictor(
            models,
            [b.preprocessing for b in bundles],
            todo[0].plan.crop,
            _check_tta(str(cfg.tta), geometry),
            bool(cfg.channels_last),
        )
        level = None if cfg.compress_level is None else _whole_number(cfg.compress_level, "compress_level")
        gdal = gdal_options(cfg)
        writer = SceneWriter(bool(cfg.progress), str(cfg.dtype), str(cfg.compress), level)
        trainer = L.Trainer(
            accelerator=cfg.accelerator,
            devices=cfg.devices,
            strategy=cfg.strategy,
            precision=cfg.precision,
            callbacks=[writer],
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=bool(cfg.progress),
            use_distributed_sampler=False,
        )
        datamodule = WindowDataModule(
            todo,
            geometry,
            int(cfg.batch_size),
            int(cfg.num_workers),
            _read_ahead(cfg.read_ahead, trainer),
            _decode_threads(cfg.gdal.threads),
            _whole_number(cfg.block_cache_mb, "block_cache_mb"),
        )
        with rasterio.Env(**gdal):
            trainer.predict(predictor, datamodule=datamodule, return_predictions=False)
        trainer.strategy.barrier()
        if not trainer.is_global_zero:
            return 0
    done = [job for job in jobs if is_finished(job.target, tags)]
    failed += len(jobs) - len(done)
    if cfg.postprocess:
        postprocess(done, bundle, out_dir, cfg)
    return EXIT_SOME_FAILED if failed else 0


def load_models(paths: Sequence[str]) -> tuple[list[Bundle], list[nn.Module], list[str]]:
    """Load one checkpoint, or several for an ensemble (they must agree on bands, classes and geometry).

    Raises:
        MinegeoInputError: naming the checkpoint that disagrees with the first.
    """
    bundles: list[Bundle] = []
    models: list[nn.Module] = []
    hashes: list[str] = []
    for path in paths:
        bundle, model = load_bundle(path)
        if bundles:
            first = bundles[0]
            for name in ("class_names", "geometry", "kind"):
                if getattr(bundle, name) != getattr(first, name):
                    raise MinegeoInputError(
                        f"{path}: {name} differs from {paths[0]}; an ensemble must share it"
                    )
            if bundle.preprocessing.bands != first.preprocessing.bands:
                raise MinegeoInputError(f"{path}: bands differ from {paths[0]}; an ensemble must share them")
        bundles.append(bundle)
        models.append(model)
        hashes.append(checkpoint_hash(path))
    return bundles, models, hashes


def output_tags(bundle: Bundle, hashes: Sequence[str], cfg: DictConfig) -> dict[str, str]:
    """Tags every output carries: checkpoint and config hashes, bands, classes, version, date."""
    settings = {key: OmegaConf.select(cfg, key) for key in OUTPUT_KEYS}
    config_hash = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {
        "checkpoint_hash": ",".join(hashes),
        "config_hash": config_hash,
        "bands": ",".join(bundle.preprocessing.bands),
        "classes": ",".join(bundle.class_names),
        "minegeo_version": minegeo.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def is_finished(target: Path, tags: dict[str, str]) -> bool:
    """Whether ``target`` is a complete output of this checkpoint and config."""
    if not target.is_file():
        return False
    try:
        with rasterio.open(target) as src:
            found = src.tags()
    except rasterio.errors.RasterioError:
        return False
    return all(found.get(key) == tags[key] for key in ("checkpoint_hash", "config_hash"))


def make_jobs(
    scenes: Sequence[Scene], bundle: Bundle, out_dir: Path, cfg: DictConfig, tags: dict[str, str]
) -> tuple[list[SceneJob], int]:
    """Check each scene against the checkpoint and plan its windows; bad scenes are reported and skipped.

    Returns:
        the jobs, and how many scenes were skipped.
    """
    jobs, failed = [], 0
    for scene in scenes:
        try:
            jobs.append(_job(scene, bundle, out_dir, cfg, tags))
        except MinegeoInputError as error:
            print(f"{error}; scene skipped", flush=True)
            failed += 1
    return jobs, failed


def _job(scene: Scene, bundle: Bundle, out_dir: Path, cfg: DictConfig, tags: dict[str, str]) -> SceneJob:
    indexes = check_scene(scene.path, bundle.preprocessing)
    for source in scene.sources:
        if not is_readable(source):
            raise MinegeoInputError(f"{source}: truncated or corrupt GeoTIFF (a block does not decode)")
    geometry = bundle.geometry
    with rasterio.open(scene.path) as src:
        height, width, transform, crs, nodata = src.height, src.width, src.transform, src.crs, src.nodata
    plan = make_plan(height, width, geometry, int(cfg.tile_size), int(cfg.overlap), int(cfg.fcn_cells))
    if not plan.chunks:
        raise MinegeoInputError(
            f"{scene.path}: {height}x{width} px is smaller than the model's "
            f"{geometry.receptive_field} px receptive field"
        )
    shift = geometry.offset - geometry.output_stride / 2
    return SceneJob(
        scene.stem,
        scene.path,
        out_dir / f"{scene.stem}.prob.tif",
        indexes,
        plan,
        height,
        width,
        transform,
        crs,
        nodata,
        geometry.output_stride,
        shift,
        tags,
    )


def postprocess(jobs: Sequence[SceneJob], bundle: Bundle, out_dir: Path, cfg: DictConfig) -> dict[str, Any]:
    """Detections per scene, then the run's report (ore type, registry cross-check, files)."""
    from minegeo.inference.detections import detect_scene
    from minegeo.inference.report import finish_run

    detections = [detect_scene(job.target, job.path, bundle, cfg.detect) for job in jobs]
    summary: dict[str, Any] = finish_run(detections, [(job.path, job.target) for job in jobs], out_dir, cfg)
    return summary


def _read_ahead(setting: Any, trainer: Any) -> bool:
    """``auto``: read ahead only when the model runs on an accelerator.

    On a CPU the reader takes cores from the model, whose operations split evenly across
    its threads and wait for the slowest: reading ahead there measured no faster than
    reading in turn (experiments/README.md).
    """
    from lightning.pytorch.accelerators import CPUAccelerator

    if setting == "auto":
        return not isinstance(trainer.accelerator, CPUAccelerator)
    if not isinstance(setting, bool):
        raise MinegeoInputError(f"read_ahead={setting}: expected auto, true or false")
    return setting


def gdal_options(cfg: DictConfig) -> dict[str, int]:
    """GDAL settings of the run: its block cache, process-wide, bounded so wide scenes keep memory flat.

    rasterio hands an integer ``GDAL_CACHEMAX`` to GDAL as bytes, so the config's MB are
    converted here (256 once meant a 256-byte cache, which halved the speed of COG writing).
    """
    return {"GDAL_CACHEMAX": _whole_number(cfg.gdal.cache_mb, "gdal.cache_mb") * 2**20}


def _keeps_freed_memory(setting: Any) -> bool:
    """Whether to keep freed memory for the next batch (``allocator.reuse_freed_memory``)."""
    if not isinstance(setting, bool):
        raise MinegeoInputError(f"reuse_freed_memory={setting}: expected true or false")
    return setting


def _decode_threads(setting: Any) -> str | int:
    if str(setting).upper() == "ALL_CPUS":
        return "ALL_CPUS"
    return max(1, _whole_number(setting, "gdal.threads", "ALL_CPUS or "))


def _whole_number(setting: Any, key: str, also: str = "") -> int:
    """``setting`` as a non-negative whole number, or one line naming the key and what it takes."""
    if isinstance(setting, bool) or not str(setting).isdigit():
        raise MinegeoInputError(f"{key}={setting}: expected {also}a whole number >= 0")
    return int(setting)


def _check_tta(tta: str, geometry: Any) -> str:
    centred = geometry.offset * 2 == geometry.receptive_field
    if tta != "none" and geometry.output_stride > 1 and not centred:
        raise MinegeoInputError(
            f"tta={tta}: flipping breaks this model's cell grid (offset {geometry.offset}); use tta=none"
        )
    return tta


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]
