"""Train and test a model: ``python -m minegeo.train +experiment=fcn_mines [overrides]``.

Writes into the Hydra run directory: ``metrics.json`` (flat final metrics of the best
checkpoint), ``checkpoints/best.ckpt`` (the checkpoint bundle), the resolved config in
``.hydra/``, CSV logs, the split and band statistics, and (W&B on) a ``wandb/`` run. The
last line on stdout is ``run_dir: <path>``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from minegeo.config import CONFIG_DIR, log_lightning_once, register_resolvers
from minegeo.errors import MinegeoInputError
from minegeo.io import atomic_path

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Entry point; returns the optimised metric for sweepers."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = train(cfg, run_dir)
    except MinegeoInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"run_dir: {run_dir}")
    value = metrics.get(cfg.optimized_metric)
    return float(value) if value is not None else None


def train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Fit and test one configuration (or every fold of it); write and return metrics.json."""
    import lightning

    log_lightning_once()

    if cfg.get("world"):
        from minegeo.world.make import ensure_world

        world = cfg.world
        ensure_world(world.root, seed=world.seed, size=world.size, periods=world.get("periods", 1))
    lightning.seed_everything(cfg.seed, workers=True)
    metrics = _cross_validate(cfg, run_dir) if cfg.get("kfold") else fit_and_test(cfg, run_dir)
    metrics["experiment"] = cfg.experiment_name
    _write_metrics(run_dir, metrics)
    return metrics


def _write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    with atomic_path(run_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def fit_and_test(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Instantiate data, model, task and trainer; fit; validate and test the best checkpoint."""
    from minegeo.tasks.base import check_in_channels, check_sample_sizes  # torch, once a run starts
    from minegeo.tasks.losses import check_loss_target

    check_loss_target(cfg.task.get("loss"))  # before the data is read
    check_kept_checkpoint(cfg)
    datamodule = build(cfg.data, _convert_="all")
    datamodule.setup("fit")
    model = build(cfg.model)
    check_in_channels(model, datamodule.preprocessing.bands)
    check_sample_sizes(model, sample_sizes(datamodule))
    # Objects cannot pass through Hydra's config merge: complete a partial instead.
    make_task = build(cfg.task, _partial_=True, _convert_="all")
    task = make_task(model=model, model_config=OmegaConf.to_container(cfg.model, resolve=True))
    loggers = [instantiate(node) for node in (cfg.get("logger") or {}).values() if node]
    callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values() if node]
    trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    started = time.perf_counter()
    if cfg.train:
        trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    best = _best_checkpoint(trainer) or cfg.get("ckpt_path")
    metrics: dict[str, Any] = {}
    for stage in ("validate", "test") if cfg.test and _has_test_split(datamodule) else ("validate",):
        results = getattr(trainer, stage)(task, datamodule=datamodule, ckpt_path=best, verbose=False)
        metrics.update(_as_floats(results[0]))
    metrics["epochs"] = int(trainer.current_epoch)
    metrics["wall_time_s"] = round(time.perf_counter() - started, 2)
    metrics["best_checkpoint"] = str(best) if best else None
    _write_confusion(task, run_dir)
    _finish_wandb(loggers)
    return metrics


def check_kept_checkpoint(cfg: DictConfig) -> None:
    """Refuse a run whose kept checkpoint would not be its last epoch's.

    With no monitored metric the checkpoint callback keeps the latest validated epoch, and
    validation runs every ``check_val_every_n_epoch``: 52 epochs validated every 30 would
    calibrate, test and ship epoch 30's weights.
    """
    checkpoint = (cfg.get("callbacks") or {}).get("model_checkpoint")
    epochs = cfg.trainer.get("max_epochs")
    every = cfg.trainer.get("check_val_every_n_epoch") or 1
    if not cfg.train or not checkpoint or checkpoint.get("monitor") is not None or not epochs or epochs < 0:
        return
    if epochs % every:
        kept = f"epoch {epochs // every * every}'s weights" if epochs >= every else "no checkpoint"
        raise MinegeoInputError(
            f"trainer.max_epochs={epochs} is not a multiple of trainer.check_val_every_n_epoch={every}: "
            f"with callbacks.model_checkpoint.monitor=null the run would keep {kept}, not the last epoch's"
        )


def build(node: DictConfig, **kwargs: Any) -> Any:
    """``instantiate(node)``, passing on a target's own MinegeoInputError as itself.

    Hydra wraps whatever a target raises into a multi-line InstantiationException; a
    setting the user got wrong should reach them as its one line.
    """
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, MinegeoInputError):
            raise error.__cause__ from None
        raise


def _cross_validate(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The paper's protocol: train on k-1 folds, test on the held-out one; mean ± std."""
    import numpy as np

    per_fold = []
    for fold in range(int(cfg.kfold)):
        fold_cfg = cfg.copy()
        fold_dir = run_dir / f"fold_{fold}"
        OmegaConf.update(fold_cfg, "data.fold", fold, force_add=True)
        OmegaConf.update(fold_cfg, "data.run_dir", str(fold_dir), force_add=True)
        for node in (fold_cfg.get("callbacks") or {}).values():
            if node and "dirpath" in node:
                node.dirpath = str(fold_dir / "checkpoints")
        for node in (fold_cfg.get("logger") or {}).values():
            if node and "save_dir" in node:  # a logger in the run folder would overwrite each fold's logs
                node.save_dir = str(fold_dir)
        metrics = fit_and_test(fold_cfg, fold_dir)
        _write_metrics(fold_dir, metrics)  # a killed k-fold run keeps the folds it finished
        per_fold.append(metrics)
    numeric = [k for k, v in per_fold[0].items() if isinstance(v, float | int) and k != "epochs"]
    summary: dict[str, Any] = {k: float(np.mean([m[k] for m in per_fold])) for k in numeric}
    summary |= {f"{k}_std": float(np.std([m[k] for m in per_fold])) for k in numeric}
    summary["folds"] = len(per_fold)
    summary["epochs"] = int(sum(m["epochs"] for m in per_fold))
    return summary


def sample_sizes(datamodule: Any) -> dict[str, int | None]:
    """The sides of the samples the datamodule feeds the model, by config key."""
    sizes = {"data.patch_size": int(datamodule.patch_size)}
    return sizes | {"data.crop_size": getattr(datamodule, "crop_size", None)}


def _has_test_split(datamodule: Any) -> bool:
    """Whether the data holds test samples (a final model may train on every place but val)."""
    try:
        return len(datamodule.test_dataloader()) > 0
    except TypeError:  # a loader of unknown length
        return True


def _best_checkpoint(trainer: Any) -> str | None:
    callback = getattr(trainer, "checkpoint_callback", None)
    path = getattr(callback, "best_model_path", "") if callback else ""
    return path or None


def _as_floats(results: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in results.items()}


def _write_confusion(task: Any, run_dir: Path) -> None:
    matrices = getattr(task, "confusion_matrices", {})
    if not matrices:
        return
    payload = {"class_names": list(task.class_names)}
    payload |= {stage: matrix.tolist() for stage, matrix in matrices.items()}
    with atomic_path(run_dir / "confusion.json") as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")


def _finish_wandb(loggers: list[Any]) -> None:
    # Each multirun job must get its own W&B run.
    if any(type(logger).__name__ == "WandbLogger" for logger in loggers):
        import wandb

        wandb.finish()


if __name__ == "__main__":
    main()
