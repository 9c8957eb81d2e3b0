"""The Lightning pieces of predict: windows in, probabilities out, scenes written as they finish.

How a window travels from a scene file to its COG:

1. :class:`WindowDataModule` hands each rank its own scenes (never a share of another
   rank's) and batches each scene's windows in raster order (:mod:`~.tiling` plans them);
2. :class:`~minegeo.inference.reading.WindowDataset` cuts each batch out of
   strips of the scene, decoded once (:class:`~minegeo.inference.reading.StripReader`);
3. :class:`Predictor` normalises the batch as training did, runs every model and view
   and averages their probabilities;
4. :class:`SceneWriter` places each window's cells (strided models) or blends the
   overlapping tiles row by row (:class:`~minegeo.inference.blending.RowBlender`) into
   the scene's :class:`~minegeo.inference.writer.ProbabilityWriter`, which streams rows
   to a staging file and finishes the COG when the scene's last window arrives.

``trainer.predict`` drives them, so the accelerator, precision and DDP come from Lightning.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch import Tensor, nn
from torch.utils.data import DataLoader

from minegeo.bundle import ModelGeometry, Preprocessing
from minegeo.inference.blending import RowBlender
from minegeo.inference.reading import FixedBatches, SceneJob, WindowDataset, already_batched
from minegeo.inference.writer import ProbabilityWriter


class Predictor(L.LightningModule):
    """Probabilities of a batch of windows: ensemble and test-time-augmentation average.

    Args:
        models: one or more models (an ensemble is averaged after the activation).
        preprocessing: each model's normalisation.
        tta: ``"none"``, ``"flips"`` (3 views) or ``"d4"`` (8 views: flips and 90° turns).
        channels_last: run the models channels-last, as the batches are made (on a CPU
            convolutions run faster so: experiments/README.md); ``False`` for a model
            whose ``view`` calls need contiguous activations.
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        preprocessing: Sequence[Preprocessing],
        tta: str = "none",
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.models = nn.ModuleList(model.to(memory_format=self.memory_format) for model in models)
        self.preprocessing = list(preprocessing)
        self.views = _views(tta)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        """Average probabilities (B, K, rows, cols) of every model and view, as float32 on the CPU."""
        raw: Tensor = batch["image"].contiguous(memory_format=self.memory_format)
        total: Tensor | None = None
        for number, (model, pre) in enumerate(zip(self.models, self.preprocessing, strict=True)):
            last = number == len(self.models) - 1
            x = pre.normalize_(raw if last else raw.clone(), *_file_scale(batch))
            for turns, flip in self.views:
                logits = _undo(model(_apply(x, turns, flip)), turns, flip)
                probs = logits.softmax(1) if logits.shape[1] > 1 else logits.sigmoid()
                total = probs.float() if total is None else total + probs.float()
        assert total is not None
        total = total / (len(self.models) * len(self.views))
        # each scene's writer drops its plan's halo cells (plans of one run may differ)
        return {**batch, "image": None, "probs": total.cpu().contiguous()}


def _file_scale(batch: dict[str, Any]) -> tuple[Tensor | None, Tensor | None]:
    """The scene's own scale and offset to reflectance (its tags), or none: the bundle's."""
    scale, offset = batch["scale"], batch["offset"]
    return (scale, offset) if scale.numel() else (None, None)


def _views(tta: str) -> list[tuple[int, bool]]:
    views = {"none": [(0, False)], "flips": [(0, False), (0, True), (2, True)]}
    views["d4"] = [(turns, flip) for turns in range(4) for flip in (False, True)]
    if tta not in views:
        raise ValueError(f"tta must be one of {sorted(views)}, got {tta!r}")
    return views[tta]


def _apply(x: Tensor, turns: int, flip: bool) -> Tensor:
    x = x.flip(-1) if flip else x
    return torch.rot90(x, turns, dims=(-2, -1)) if turns else x


def _undo(x: Tensor, turns: int, flip: bool) -> Tensor:
    x = torch.rot90(x, -turns, dims=(-2, -1)) if turns else x
    return x.flip(-1) if flip else x


class WindowDataModule(L.LightningDataModule):
    """Splits scenes across ranks (each scene owned by one rank) and serves their windows in order.

    Args:
        jobs: all scenes to predict.
        geometry: the model's geometry.
        batch_size: windows per batch.
        num_workers: reader processes (0: the main process reads between forwards; 1: a
            process reads ahead, for an accelerator).
        strip_mb: most memory of one reader's strip, MB.
    """

    def __init__(
        self,
        jobs: Sequence[SceneJob],
        geometry: ModelGeometry,
        batch_size: int,
        num_workers: int,
        strip_mb: float = 512,
    ) -> None:
        super().__init__()
        self.jobs, self.geometry = list(jobs), geometry
        self.batch_size, self.num_workers, self.strip_mb = batch_size, num_workers, strip_mb
        self.rank_jobs: list[SceneJob] = []
        self.dataset: WindowDataset | None = None

    def predict_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Windows of this rank's scenes, in row-major order (the blender relies on it)."""
        assert self.trainer is not None
        rank, world = self.trainer.global_rank, self.trainer.world_size
        self.rank_jobs = self.jobs[rank::world]
        self.dataset = WindowDataset(self.rank_jobs, self.geometry, self.strip_mb)
        return DataLoader(
            self.dataset,
            batch_sampler=FixedBatches(self.dataset.batches(self.batch_size)),
            num_workers=self.num_workers,
            collate_fn=already_batched,
            # a forked reader inherits GDAL's decoding thread pool without its threads, and hangs
            multiprocessing_context="spawn" if self.num_workers else None,
        )

    def teardown(self, stage: str) -> None:
        """Close the open scene."""
        if self.dataset is not None:
            self.dataset.close()


class SceneWriter(BasePredictionWriter):
    """Places each window's probabilities into its scene and finishes scenes as they complete.

    Args:
        progress: show a progress bar over scenes.
        dtype: output dtype (``float32`` or ``uint8``).
        compress: COG compression.
        level: DEFLATE / ZSTD level (``None``: GDAL's default).
    """

    def __init__(
        self, progress: bool = True, dtype: str = "float32", compress: str = "deflate", level: int | None = 1
    ) -> None:
        super().__init__(write_interval="batch")
        self.progress, self.dtype, self.compress, self.level = progress, dtype, compress, level
        self.open: dict[int, _SceneState] = {}
        self.failed: dict[int, str] = {}
        self.finished: list[Path] = []
        self.bar: Any = None

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Any,
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        """Hand each window of the batch to its scene."""
        jobs: list[SceneJob] = trainer.datamodule.rank_jobs  # type: ignore[attr-defined]
        for i, scene in enumerate(prediction["scene"].tolist()):
            if scene in self.failed:
                continue
            if prediction["error"][i]:
                self._fail(scene, jobs[scene], prediction["error"][i])
                continue
            state = self.open.get(scene) or self._start(scene, jobs[scene], trainer)
            state.add(
                int(prediction["chunk"][i]), prediction["probs"][i].numpy(), prediction["valid"][i].numpy()
            )
            if state.done:
                self.finished.append(state.writer.finish())
                del self.open[scene]
                if self.bar is not None:
                    self.bar.update(1)

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Close the scene progress bar."""
        if self.bar is not None:
            self.bar.close()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """Leave no staging file behind when the run fails."""
        for state in self.open.values():
            state.writer.abort()

    def _start(self, scene: int, job: SceneJob, trainer: L.Trainer) -> _SceneState:
        if self.bar is None and self.progress:
            from tqdm.auto import tqdm

            total = len(trainer.datamodule.rank_jobs)  # type: ignore[attr-defined]
            self.bar = tqdm(total=total, desc="scenes", unit="scene", position=1, leave=True)
        for stale in job.target.parent.glob(f".{job.target.stem}*"):
            stale.unlink(missing_ok=True)  # partial files of an earlier, killed run
        names = job.tags["classes"].split(",")
        writer = ProbabilityWriter(
            job.target,
            job.plan.height,
            job.plan.width,
            job.crs,
            job.output_transform,
            names,
            self.dtype,
            self.compress,
            job.tags,
            self.level,
        )
        self.open[scene] = _SceneState(job, writer, len(names))
        return self.open[scene]

    def _fail(self, scene: int, job: SceneJob, error: str) -> None:
        line = f"{job.path}: cannot decode pixels ({error})"
        print(f"error: {line}; scene skipped", file=sys.stderr, flush=True)
        self.failed[scene] = line
        state = self.open.pop(scene, None)
        if state is not None:
            state.writer.abort()


class _SceneState:
    """A scene being written: its writer, its blender (per-pixel models) and a window count."""

    def __init__(self, job: SceneJob, writer: ProbabilityWriter, channels: int) -> None:
        self.job, self.writer, self.received = job, writer, 0
        self.blender: RowBlender | None = None
        self.band_left: dict[int, int] = {}
        for chunk in job.plan.chunks:
            self.band_left[chunk.band] = self.band_left.get(chunk.band, 0) + 1
        if job.plan.blended:
            plan = job.plan
            self.blender = RowBlender(
                plan.height,
                plan.width,
                channels,
                plan.row_starts,
                plan.col_starts,
                plan.read_size,
                self._emit,
            )

    @property
    def done(self) -> bool:
        return self.received == len(self.job.plan.chunks)

    def add(self, number: int, probs: np.ndarray, valid: np.ndarray) -> None:
        chunk, crop = self.job.plan.chunks[number], self.job.plan.crop
        probs, valid = (
            probs[:, crop : crop + chunk.out_height, crop : crop + chunk.out_width],
            valid[: chunk.out_height, : chunk.out_width],
        )
        if self.blender is None:
            self.writer.write(chunk.out_row, chunk.out_col, probs, valid)
        else:
            self.blender.add(chunk.out_row, chunk.out_col, probs, valid)
        self.received += 1
        self.band_left[chunk.band] -= 1
        if self.blender is not None and self.band_left[chunk.band] == 0:
            self.blender.finish_band(chunk.band)

    def _emit(self, row: int, probs: np.ndarray, valid: np.ndarray) -> None:
        self.writer.write(row, 0, probs, valid)
