"""The predict run: checkpoints and scenes in, probability COGs and the report out.

Everything that can stop the run is checked before the scan: the settings (typed, in
:mod:`~minegeo.inference.settings`), the files (:mod:`~minegeo.inference.preflight`),
the checkpoints, the ore-type model and the registries. A scene that fails afterwards is
reported on stderr and in the summary, and the run exits with ``EXIT_SOME_FAILED``.

Resumable: a scene whose ``<stem>.prob.tif`` carries this run's checkpoint, settings and
input hashes is skipped (:mod:`~minegeo.inference.resume`), and outputs only ever appear
complete, so a killed run restarted with the same command ends as an uninterrupted one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import rasterio
from omegaconf import DictConfig
from torch import nn

from minegeo.bundle import Bundle, checkpoint_hash, load_bundle
from minegeo.change.series import check_series
from minegeo.change.stage import run_change_stage
from minegeo.datasets.raster import is_readable
from minegeo.detection.report import Stages, finish_run, prepare_stages
from minegeo.errors import EXIT_SOME_FAILED, MinegeoInputError
from minegeo.inference.allocator import reuse_freed_memory
from minegeo.inference.engine import Predictor, SceneWriter, WindowDataModule
from minegeo.inference.preflight import check_files
from minegeo.inference.reading import SceneJob
from minegeo.inference.resume import input_hash, is_finished, output_tags
from minegeo.inference.scenes import Scene, check_scene, find_scenes
from minegeo.inference.settings import PredictSettings, load_settings
from minegeo.inference.tiling import make_plan


def run_predict(cfg: PredictSettings | DictConfig | Mapping[str, Any]) -> int:
    """Predict every scene of ``input`` into ``out``; returns the exit code.

    Args:
        cfg: the predict settings, or the config they are loaded from (``conf/predict.yaml``).

    Returns:
        0 when every scene is done, 2 when some failed (each reported on stderr and in
        the summary).

    Raises:
        MinegeoInputError: for a bad setting, checkpoint, registry or input that stops
            the whole run; raised before any scene is read.
    """
    settings = load_settings(cfg)
    check_files(settings)
    bundles, models, hashes = load_models(settings.checkpoints)
    _check_tta(settings.tta, bundles[0].geometry)
    stages = prepare_stages(settings) if settings.postprocess else None
    bundle, out_dir = bundles[0], Path(settings.out)
    scenes = find_scenes(settings.input, out_dir / ".mosaics", mosaic=settings.mosaic)
    change = check_series([scene.stem for scene in scenes], settings.change) and settings.postprocess
    jobs, failed = make_jobs(scenes, bundle, out_dir, settings, output_tags(bundle, hashes, settings))
    todo = [job for job in jobs if not is_finished(job.target, job.tags)]
    if todo:
        scan_failed = scan(todo, bundles, models, settings)
        if scan_failed is None:
            return 0  # a DDP rank other than 0: rank 0 reports
        failed |= scan_failed
    done = [job for job in jobs if is_finished(job.target, job.tags)]
    for job in jobs:
        if job not in done and job.stem not in failed:
            failed[job.stem] = f"{job.path}: no complete map was written"
    if stages is not None:
        postprocess(done, bundle, out_dir, settings, stages, failed)
    if change:
        maps = [(job.stem, job.target, job.path) for job in done]
        run_change_stage(
            maps, out_dir, True, settings.detect.threshold, settings.detect.classes, settings.change_rules
        )
    if failed:
        print(f"error: {len(failed)} of {len(scenes)} scene(s) failed: {', '.join(failed)}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def scan(
    todo: Sequence[SceneJob],
    bundles: Sequence[Bundle],
    models: Sequence[nn.Module],
    settings: PredictSettings,
) -> dict[str, str] | None:
    """Predict the scenes ``todo`` with Lightning; returns the scenes that failed, and why.

    Returns:
        scene stem -> error line; None on a DDP rank other than 0 (rank 0 reports).
    """
    import lightning as L

    if settings.reuse_freed_memory:
        reuse_freed_memory()
    geometry = bundles[0].geometry
    predictor = Predictor(
        models,
        [b.preprocessing for b in bundles],
        settings.tta,
        settings.channels_last,
    )
    writer = SceneWriter(settings.progress, settings.dtype, settings.compress, settings.compress_level)
    trainer = L.Trainer(
        accelerator=settings.accelerator,
        devices=settings.devices,
        strategy=settings.strategy,
        precision=settings.precision,  # type: ignore[arg-type]
        callbacks=[writer],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=settings.progress,
        use_distributed_sampler=False,
    )
    datamodule = WindowDataModule(
        todo, geometry, settings.batch_size, settings.num_workers, settings.strip_mb
    )
    with rasterio.Env(**gdal_options(settings)):
        trainer.predict(predictor, datamodule=datamodule, return_predictions=False)
    trainer.strategy.barrier()
    if not trainer.is_global_zero:
        return None
    return {datamodule.rank_jobs[scene].stem: error for scene, error in writer.failed.items()}


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


def make_jobs(
    scenes: Sequence[Scene], bundle: Bundle, out_dir: Path, settings: PredictSettings, tags: dict[str, str]
) -> tuple[list[SceneJob], dict[str, str]]:
    """Check each scene against the checkpoint and plan its windows; bad scenes are reported and skipped.

    Scenes read without band descriptions (in the checkpoint's band order) are named in
    one warning.

    Returns:
        the jobs, and the skipped scenes (stem -> error line).
    """
    jobs: list[SceneJob] = []
    failed: dict[str, str] = {}
    assumed: dict[tuple[str, ...], list[str]] = {}
    for scene in scenes:
        try:
            job, guessed = _job(scene, bundle, out_dir, settings, tags)
        except MinegeoInputError as error:
            print(f"error: {error}; scene skipped", file=sys.stderr, flush=True)
            failed[scene.stem] = str(error)
            continue
        jobs.append(job)
        if guessed is not None:
            assumed.setdefault(guessed, []).append(scene.path.name)
    for names, files in assumed.items():
        print(
            f"warning: {len(files)} scene(s) have no band descriptions; their bands were taken to be "
            f"{','.join(names)} in order: {', '.join(files)}",
            file=sys.stderr,
        )
    return jobs, failed


def _job(
    scene: Scene, bundle: Bundle, out_dir: Path, settings: PredictSettings, tags: dict[str, str]
) -> tuple[SceneJob, tuple[str, ...] | None]:
    """The scene's job, and the band names assumed for a file without descriptions."""
    bands = check_scene(scene.path, bundle.preprocessing, settings.input_scale)
    for source in scene.sources:
        if not is_readable(source):
            raise MinegeoInputError(f"{source}: truncated or corrupt GeoTIFF (a block does not decode)")
    geometry = bundle.geometry
    with rasterio.open(scene.path) as src:
        height, width, transform, crs, nodata = src.height, src.width, src.transform, src.crs, src.nodata
    plan = make_plan(height, width, geometry, settings.tile_size, settings.overlap, settings.fcn_cells)
    if not plan.chunks:
        raise MinegeoInputError(
            f"{scene.path}: {height}x{width} px is smaller than the model's smallest input "
            f"({geometry.min_size} px a side)"
        )
    shift = geometry.offset - geometry.output_stride / 2
    job = SceneJob(
        scene.stem,
        scene.path,
        out_dir / f"{scene.stem}.prob.tif",
        bands.indexes,
        plan,
        height,
        width,
        transform,
        crs,
        nodata,
        geometry.output_stride,
        shift,
        {**tags, "input_hash": input_hash(scene.sources)},
        bands.scale,
        bands.offset,
    )
    return job, bands.assumed


def postprocess(
    jobs: Sequence[SceneJob],
    bundle: Bundle,
    out_dir: Path,
    settings: PredictSettings,
    stages: Stages,
    failed: Mapping[str, str],
) -> dict[str, Any]:
    """Detections per scene, then the run's report (ore type, registry cross-check, files)."""
    from minegeo.detection.detections import detect_scene

    detections = [detect_scene(job.target, job.path, bundle, settings.detect) for job in jobs]
    scenes = [(job.path, job.target) for job in jobs]
    return finish_run(detections, scenes, out_dir, settings, stages=stages, failed=failed)


def gdal_options(cfg: PredictSettings | DictConfig) -> dict[str, int | str]:
    """GDAL settings of the run: threads decoding a strip's tiles, and a bounded block cache.

    rasterio hands an integer ``GDAL_CACHEMAX`` to GDAL as bytes, so the config's MB are
    converted here.
    """
    gdal = load_settings(cfg).gdal
    return {"GDAL_CACHEMAX": gdal.cache_mb * 2**20, "GDAL_NUM_THREADS": str(gdal.threads)}


def _check_tta(tta: str, geometry: Any) -> str:
    centred = geometry.offset * 2 == geometry.receptive_field
    if tta != "none" and geometry.output_stride > 1 and not centred:
        raise MinegeoInputError(
            f"tta={tta}: flipping breaks this model's cell grid (offset {geometry.offset}); use tta=none"
        )
    return tta
