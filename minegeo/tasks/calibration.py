"""Post-hoc calibration: fit ``logits / T + b`` on validation pixels and keep it in the checkpoint.

A segmentation model trained on a few patches with dice in its loss outlines its targets
well but says p = 0.2-0.4 inside them, so a 0.5 (or the paper's 0.6) threshold throws
most of them away. Scaling the logits by a temperature and shifting each class (fitted
by negative log-likelihood on the validation split, which training never saw) makes the
written probabilities mean what they say; predict applies it through the bundle.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer
from torch import Tensor
from torch.nn import functional as F

from minegeo.bundle import BUNDLE_KEY, Calibration
from minegeo.io import atomic_path


class Calibrate(Callback):
    """After fitting, calibrate the best checkpoint on the validation split and rewrite it.

    Args:
        bias: fit a per-class bias besides the temperature (moves the operating point).
        max_pixels: validation pixels kept for the fit (drawn evenly from each batch).
    """

    def __init__(self, bias: bool = True, max_pixels: int = 1_000_000) -> None:
        self.bias, self.max_pixels = bias, max_pixels
        #: validation negative log-likelihood before and after, once fitted
        self.nll: tuple[float, float] | None = None

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Fit on the best checkpoint's validation logits; store the result in that checkpoint."""
        callback = trainer.checkpoint_callback
        path = getattr(callback, "best_model_path", "") or getattr(callback, "last_model_path", "")
        datamodule = getattr(trainer, "datamodule", None)
        if not path or datamodule is None or getattr(pl_module, "bundle", None) is None:
            return
        if trainer.is_global_zero:
            self._calibrate_checkpoint(Path(path), pl_module, datamodule)
        trainer.strategy.barrier()

    def _calibrate_checkpoint(self, path: Path, task: Any, datamodule: Any) -> None:
        checkpoint = torch.load(path, map_location=task.device, weights_only=False)
        task.load_state_dict(checkpoint["state_dict"])
        logits, target = validation_logits(task, datamodule, self.max_pixels)
        if not len(target):
            return
        calibration = fit_calibration(logits, target, self.bias)
        self.nll = (
            float(F.cross_entropy(logits, target)),
            float(F.cross_entropy(calibration.apply(logits), target)),
        )
        task.bundle = dataclasses.replace(task.bundle, calibration=calibration)
        checkpoint[BUNDLE_KEY] = task.bundle.to_dict()
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
        bias = [round(b, 3) for b in calibration.bias]
        before, after = self.nll
        print(
            f"calibration: temperature {calibration.temperature:.3f}, bias {bias}; "
            f"validation NLL {before:.4f} -> {after:.4f}"
        )


@torch.no_grad()
def validation_logits(task: Any, datamodule: Any, max_pixels: int) -> tuple[Tensor, Tensor]:
    """(N, K) logits and (N,) targets of up to ``max_pixels`` labelled validation pixels.

    Batches are prepared as in validation (normalised on the task's device); ignored
    pixels are dropped and each batch contributes an even, seeded random share.
    """
    was_training = task.training
    task.eval()
    loader = datamodule.val_dataloader()
    share = max(1, max_pixels // max(1, len(loader)))
    generator = torch.Generator().manual_seed(0)
    logits_parts, target_parts = [], []
    for batch in loader:
        batch = datamodule.on_after_batch_transfer(_to(batch, task.device), 0)
        logits = task.logits(task(batch["image"]))
        target = batch[task.target_key]
        flat_logits = logits.movedim(1, -1).reshape(-1, logits.shape[1])
        flat_target = target.reshape(-1)
        keep = torch.nonzero(flat_target != (task.ignore_index if task.ignore_index is not None else -1))[
            :, 0
        ]
        keep = keep[torch.randperm(len(keep), generator=generator)[:share].to(keep.device)]
        logits_parts.append(flat_logits[keep].float().cpu())
        target_parts.append(flat_target[keep].long().cpu())
    task.train(was_training)
    if not logits_parts:
        return torch.zeros(0, 0), torch.zeros(0, dtype=torch.long)
    return torch.cat(logits_parts), torch.cat(target_parts)


def fit_calibration(logits: Tensor, target: Tensor, bias: bool = True, steps: int = 100) -> Calibration:
    """The temperature (and per-class bias) minimising cross-entropy on ``(logits, target)``.

    Args:
        logits: (N, K) uncalibrated logits.
        target: (N,) class indexes.
        bias: also fit one additive term per class (centred: softmax ignores a common shift).
        steps: L-BFGS iterations.

    Returns:
        the fitted :class:`Calibration`.
    """
    log_temperature = torch.zeros((), requires_grad=True)
    shift = torch.zeros(logits.shape[1], requires_grad=bias)
    parameters = [log_temperature, shift] if bias else [log_temperature]
    optimizer = torch.optim.LBFGS(parameters, lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_temperature.exp() + shift, target)
        loss.backward()
        return loss

    optimizer.step(closure)
    centred = (shift - shift.mean()).detach() if bias else torch.zeros(0)
    return Calibration(float(log_temperature.detach().exp()), tuple(float(b) for b in centred))


def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}
