"""The Lightning task every minegeo task builds on.

A task wraps a plain ``nn.Module`` with a loss, metrics, an optimizer and the checkpoint
bundle (:mod:`minegeo.bundle`). Subclasses say what the target is and how output
becomes logits; everything else (the shared step, epoch metrics, sample panels, the
bundle, optimizers) lives here once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from lightning.pytorch import LightningModule
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities.types import LRSchedulerConfigType, OptimizerLRScheduler
from torch import Tensor, nn
from torch.nn import Parameter
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, OneCycleLR, ReduceLROnPlateau

from minegeo.bundle import BUNDLE_KEY, Bundle, ModelGeometry
from minegeo.errors import MinegeoInputError
from minegeo.tasks.losses import LossFactory, build_loss
from minegeo.tasks.metrics import ClassMetrics
from minegeo.tasks.visualize import sample_panel

#: stages that compute metrics, in the order Lightning runs them
STAGES = ("train", "val", "test")
#: what a datamodule must expose for the task to write a complete bundle
DATAMODULE_ATTRIBUTES = ("preprocessing", "class_names", "patch_size")

OptimizerFactory = Callable[[Iterable[Parameter]], Optimizer]
SchedulerFactory = Callable[..., LRScheduler | ReduceLROnPlateau]


class BaseTask(LightningModule):
    """Shared training, evaluation and checkpoint logic.

    Args:
        model: the network; it must carry ``geometry: ModelGeometry``.
        model_config: the Hydra node (with ``_target_``) that rebuilds ``model``; stored
            in the checkpoint bundle so predict needs nothing else.
        class_names: class names in output-channel order; must equal the datamodule's.
        optimizer: optimizer factory taking the parameters (a Hydra ``_partial_`` node).
        scheduler: scheduler factory taking the optimizer, or None.
        scheduler_monitor: metric a ReduceLROnPlateau scheduler watches.
        scheduler_interval: step the scheduler every ``epoch`` or every optimizer ``step``
            (OneCycleLR, warm-up + cosine); a scheduler that needs the run's length
            (``total_steps``, ``T_max``) gets it from the trainer.
        log_images: validation samples drawn as panels to each W&B logger per epoch.
        loss: loss factory (a Hydra ``_partial_`` node) completed by :func:`build_loss`;
            None for the task's ``default_loss``.
        class_weights: one loss weight per class, given to the loss where it takes them,
            or None.

    Raises:
        MinegeoInputError: if ``model_config`` has no ``_target_``, or the loss cannot be built.
    """

    #: bundle kind written into checkpoints
    kind: ClassVar[Literal["segmentation", "classification"]]
    #: batch key of the target
    target_key: ClassVar[str]
    #: target value skipped by losses and metrics; None for none
    ignore_index: ClassVar[int | None] = None
    #: the loss when the config names none
    default_loss: ClassVar[LossFactory]
    #: ``criterion(logits, target) -> loss``, set by :meth:`configure_losses`
    criterion: nn.Module

    def __init__(
        self,
        model: nn.Module,
        model_config: Mapping[str, Any],
        class_names: Sequence[str],
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_monitor: str = "val/loss",
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        log_images: int = 4,
        loss: LossFactory | None = None,
        class_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        # factories are objects, not hyperparameters: the run's config records their nodes
        self.save_hyperparameters(ignore=["model", "optimizer", "scheduler", "loss"])
        if "_target_" not in model_config:
            raise MinegeoInputError(
                f"model config {dict(model_config)} has no _target_: predict could not rebuild it"
            )
        self.class_names = tuple(str(name) for name in class_names)
        self.model_config = dict(model_config)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.loss_factory = loss or self.default_loss
        self.bundle: Bundle | None = None
        #: last epoch's (truth, prediction) counts per stage, for metrics files
        self.confusion_matrices: dict[str, np.ndarray] = {}
        self._panels: list[tuple[np.ndarray, str]] = []
        self.configure_models(model)
        self.configure_losses()
        self.configure_metrics()

    # -- set-up ---------------------------------------------------------------------------

    def configure_models(self, model: nn.Module) -> None:
        """Adopt the network; it must describe its geometry for the bundle."""
        geometry = getattr(model, "geometry", None)
        if not isinstance(geometry, ModelGeometry):
            raise TypeError(f"{type(model).__name__} has no `geometry: ModelGeometry` attribute")
        self.model = model
        self.geometry = geometry

    def configure_losses(self) -> None:
        """Set ``self.criterion``: the loss node completed with the classes, weights and ignored target."""
        self.criterion = build_loss(
            self.loss_factory, len(self.class_names), self.hparams.get("class_weights"), self.ignore_index
        )

    def configure_metrics(self) -> None:
        """One confusion-matrix accumulator per stage."""
        background = self.hparams.get("background_class")
        # ModuleDict keys must not shadow Module attributes such as `train`
        self.stage_metrics = nn.ModuleDict(
            {
                f"{stage}_metrics": ClassMetrics(self.class_names, self.ignore_index, background)
                for stage in STAGES
            }
        )

    def metrics(self, stage: str) -> ClassMetrics:
        """The accumulator of ``stage`` (``"train"``, ``"val"`` or ``"test"``)."""
        metrics: ClassMetrics = self.stage_metrics[f"{stage}_metrics"]  # type: ignore[assignment]
        return metrics

    def panel_probability(self, logits: Tensor) -> tuple[Tensor, str]:
        """The probability drawn in sample panels, and its name.

        With a background class it is ``1 - p(background)``, any foreground (a mine panel
        and a tailings panel are both informative); otherwise ``p`` of the first class
        (``mine`` for discovery).

        Args:
            logits: (B, n, ...) logits.

        Returns:
            (B, ...) probabilities and a label such as ``"p(foreground)"``.
        """
        probabilities = logits.detach().softmax(dim=1)
        background = self.hparams.get("background_class")
        if background in self.class_names:
            return 1 - probabilities[:, self.class_names.index(background)], "p(foreground)"
        return probabilities[:, 0], f"p({self.class_names[0]})"

    def setup(self, stage: str) -> None:
        """Check the data against the task and model, and build the bundle, before any step."""
        if stage == "predict":
            return
        bundle = self._bundle_from_datamodule()
        if stage == "fit" or self.bundle is None:
            self.bundle = bundle

    def _bundle_from_datamodule(self) -> Bundle:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or any(getattr(datamodule, a, None) is None for a in DATAMODULE_ATTRIBUTES):
            raise MinegeoInputError(
                f"datamodule {type(datamodule).__name__}: expected a set-up datamodule exposing "
                f"{', '.join(DATAMODULE_ATTRIBUTES)} (minegeo checkpoints need them)"
            )
        data_classes = tuple(str(name) for name in datamodule.class_names)
        if data_classes != self.class_names:
            raise MinegeoInputError(
                f"the datamodule's classes {list(data_classes)} differ from task.class_names "
                f"{list(self.class_names)}: expected the same names in the same order"
            )
        preprocessing = datamodule.preprocessing
        check_in_channels(self.model, preprocessing.bands)
        return Bundle(
            kind=self.kind,
            class_names=self.class_names,
            patch_size=int(datamodule.patch_size),
            preprocessing=preprocessing,
            geometry=self.geometry,
            model_config=self.model_config,
        )

    # -- checkpoints ----------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the bundle beside the weights so ``load_bundle`` needs nothing else."""
        if self.bundle is not None:
            checkpoint[BUNDLE_KEY] = self.bundle.to_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the bundle; refuse to resume on data prepared differently from the checkpoint's.

        Raises:
            MinegeoInputError: if the datamodule's classes or preprocessing (bands, order,
                statistics) differ from those the checkpoint was trained with.
        """
        if BUNDLE_KEY not in checkpoint:
            return
        saved = Bundle.from_dict(checkpoint[BUNDLE_KEY])
        current = self.bundle
        for name in ("class_names", "preprocessing"):
            if current is not None and getattr(saved, name) != getattr(current, name):
                raise MinegeoInputError(
                    f"the checkpoint was trained with {name} {getattr(saved, name)} but the data now gives "
                    f"{getattr(current, name)}: expected the same data settings to resume or evaluate"
                )
        self.bundle = saved

    # -- steps ----------------------------------------------------------------------------

    def forward(self, image: Tensor) -> Tensor:
        """Raw model output for a normalised (B, C, H, W) batch."""
        output: Tensor = self.model(image)
        return output

    def logits(self, output: Tensor) -> Tensor:
        """Model output as the loss and metrics take it (subclasses reshape here)."""
        return output

    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        image, target = batch["image"], batch[self.target_key]
        logits = self.logits(self(image))
        loss: Tensor = self.criterion(logits, target)
        self.log(
            f"{stage}/loss",
            loss,
            on_step=stage == "train",
            on_epoch=True,
            prog_bar=True,
            batch_size=image.shape[0],
            sync_dist=True,  # one scalar; schedulers and checkpoints must see the all-rank loss
        )
        self.metrics(stage).update(self.calibrated(logits).argmax(dim=1), target)
        if stage == "val":
            self._collect_panels(image, target, logits)
        return loss

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """One optimisation step's loss."""
        return self._shared_step(batch, "train")

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """Validation loss; also accumulates metrics and sample panels."""
        return self._shared_step(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """Test loss; also accumulates metrics."""
        return self._shared_step(batch, "test")

    def predict_step(
        self, batch: dict[str, Tensor] | Tensor, batch_idx: int, dataloader_idx: int = 0
    ) -> Tensor:
        """Class probabilities (softmax over dim 1) for a batch; writing them is a writer's job."""
        image = batch["image"] if isinstance(batch, dict) else batch
        probabilities: Tensor = self.calibrated(self(image)).softmax(dim=1)
        return probabilities

    def calibrated(self, logits: Tensor) -> Tensor:
        """``logits`` through the bundle's calibration (the identity until one is fitted)."""
        return logits if self.bundle is None else self.bundle.calibration.apply(logits)

    # -- epoch ends -----------------------------------------------------------------------

    def on_train_epoch_end(self) -> None:
        """Log the epoch's training metrics."""
        self._log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        """Log the epoch's validation metrics and sample panels."""
        self._log_epoch_metrics("val")
        self._log_panels()

    def on_test_epoch_end(self) -> None:
        """Log the test metrics."""
        self._log_epoch_metrics("test")

    def _log_epoch_metrics(self, stage: str) -> None:
        metrics = self.metrics(stage)
        confusion = metrics.compute().cpu()  # scores use float64, which not every device has
        metrics.reset()
        if self.trainer.sanity_checking:
            return
        self.confusion_matrices[stage] = confusion.numpy()
        # Every rank holds the same synced counts. Floats become tensors on the module's
        # device, which sync_dist (NCCL) needs; it keeps Lightning's DDP bookkeeping exact.
        scores = {key: float(value) for key, value in metrics.scores(confusion, stage).items()}
        self.log_dict(scores, sync_dist=True)
        for logger in self._wandb_loggers():
            log_confusion_matrix(
                logger, f"{stage}/confusion_matrix", confusion, self.class_names, self.global_step
            )

    def _wandb_loggers(self) -> list[WandbLogger]:
        if self.global_rank != 0:  # W&B runs live on rank 0; other ranks need not draw panels
            return []
        return [logger for logger in self.loggers if isinstance(logger, WandbLogger)]

    def _collect_panels(self, image: Tensor, target: Tensor, logits: Tensor) -> None:
        wanted = int(self.hparams["log_images"]) - len(self._panels)
        if wanted <= 0 or self.bundle is None or self.trainer.sanity_checking or not self._wandb_loggers():
            return
        probabilities, name = self.panel_probability(logits[:wanted])
        for sample, truth, probability in zip(image, target, probabilities, strict=False):
            caption = f"input | truth | {name}"
            if truth.dim() == 0:  # one label per patch: draw it, and the probability, as flat squares
                caption = f"truth {self.class_names[int(truth)]}, {name}={float(probability):.2f}"
                truth, probability = truth.expand(sample.shape[-2:]), probability.view(1, 1)
            panel = sample_panel(sample, self.bundle.preprocessing, truth, probability, self.ignore_index)
            self._panels.append((panel, caption))

    def _log_panels(self) -> None:
        if self._panels:
            panels, captions = zip(*self._panels, strict=True)
            for logger in self._wandb_loggers():
                logger.log_image("val/samples", list(panels), step=self.global_step, caption=list(captions))
        self._panels = []

    # -- optimisation ---------------------------------------------------------------------

    def configure_optimizers(self) -> OptimizerLRScheduler:
        """Complete the optimizer and scheduler partials; plateau schedulers watch ``scheduler_monitor``."""
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        interval = self.hparams.get("scheduler_interval") or "epoch"
        scheduler = self._complete_scheduler(optimizer, interval)
        config: LRSchedulerConfigType = {"scheduler": scheduler, "interval": interval}
        if isinstance(scheduler, ReduceLROnPlateau):
            config["monitor"] = self.hparams["scheduler_monitor"]
        return {"optimizer": optimizer, "lr_scheduler": config}

    def _complete_scheduler(self, optimizer: Optimizer, interval: str) -> LRScheduler | ReduceLROnPlateau:
        """The scheduler, given the run's length when it needs one (OneCycleLR, cosine) and lacks it."""
        if interval not in ("epoch", "step"):
            raise MinegeoInputError(f"task.scheduler_interval={interval}: expected epoch or step")
        assert self.scheduler_factory is not None
        function = getattr(self.scheduler_factory, "func", self.scheduler_factory)
        given = getattr(self.scheduler_factory, "keywords", {})
        wanted = [name for name in ("total_steps", "T_max") if name in inspect.signature(function).parameters]
        missing = [name for name in wanted if name not in given]
        if not missing:
            return self.scheduler_factory(optimizer)
        total = self.trainer.estimated_stepping_batches if interval == "step" else self.trainer.max_epochs
        options: dict[str, Any] = dict.fromkeys(missing, int(total or 1))
        if function is OneCycleLR:
            options["pct_start"] = _warm_up_share(given.get("pct_start", 0.3), int(total or 1))
        return self.scheduler_factory(optimizer, **options)


def _warm_up_share(share: float, steps: int) -> float:
    """OneCycleLR's ``pct_start``, moved off a one-step warm-up for short runs.

    Torch divides by the warm-up's length less one step: ``pct_start * total_steps == 1``
    (0.1 over 10 steps, a quick two-epoch run) raises ZeroDivisionError at the first step.
    """
    return min(2 / steps, 0.9) if abs(share * steps - 1) < 1e-9 else share


def check_in_channels(model: nn.Module, bands: Sequence[str]) -> None:
    """Refuse a model whose first convolution does not take one channel per band.

    Train calls it before fitting and every task again when it builds its bundle, so a
    model and its data disagree in one line, whichever way a run started.

    Args:
        model: the network.
        bands: the band names of each input sample, in channel order.

    Raises:
        MinegeoInputError: naming both counts and the bands when they differ.
    """
    first = next((m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    if first is not None and first.in_channels != len(bands):
        raise MinegeoInputError(
            f"model {type(model).__name__} takes {first.in_channels} input channels but the data has "
            f"{len(bands)} bands ({','.join(bands)}): expected model.in_channels={len(bands)} "
            f"or data.bands naming {first.in_channels} bands"
        )


def check_sample_sizes(model: nn.Module, sizes: Mapping[str, int | None]) -> None:
    """Refuse training samples whose side the model cannot take (a U-Net needs multiples of 32).

    Args:
        model: the network, with its ``geometry``.
        sizes: config key -> side of the samples it sets, in pixels (None: not used).

    Raises:
        MinegeoInputError: naming the key, its value and the multiple the model needs.
    """
    geometry = getattr(model, "geometry", None)
    if not isinstance(geometry, ModelGeometry) or geometry.output_stride != 1:
        return  # window models (the FCN) take any side from their receptive field up
    for key, size in sizes.items():
        if size is not None and size % geometry.size_multiple:
            raise MinegeoInputError(
                f"{key}={size}: {type(model).__name__} takes sides that are multiples of "
                f"{geometry.size_multiple} px (its encoder's stride times model.downsample)"
            )


def log_confusion_matrix(
    logger: WandbLogger, key: str, confusion: Tensor, class_names: Sequence[str], step: int
) -> None:
    """Log counts to W&B as its standard confusion-matrix chart.

    Args:
        logger: an attached W&B logger.
        key: chart key, e.g. ``"val/confusion_matrix"``.
        confusion: (n, n) counts, rows truth, columns prediction.
        class_names: the n class names.
        step: the trainer's global step.
    """
    import wandb

    rows: list[Iterable[Any]] = [
        [truth, predicted, int(confusion[i, j])]
        for i, truth in enumerate(class_names)
        for j, predicted in enumerate(class_names)
    ]
    table = wandb.Table(columns=["Actual", "Predicted", "nPredictions"], data=rows)
    fields = {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"}
    chart = wandb.plot_table("wandb/confusion_matrix/v1", table, fields, {"title": key})
    logger.experiment.log({key: chart, "trainer/global_step": step})
