"""An exponential moving average of the weights, used wherever the trained model is.

A network trained from scratch on a few dozen patches ends wherever its last batches
pushed it: the seed alone moves one fold's test IoU by up to 0.18 (experiments/README.md).
Averaging the weights over the last steps smooths that walk for one copy of the weights.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import EMAWeightAveraging


class WeightEMA(EMAWeightAveraging):
    """Lightning's EMA callback, with the average also used by ``trainer.test``.

    Lightning swaps the average in for validation, writes it as every checkpoint's
    ``state_dict`` (what calibration and predict load) and makes it the model when fit ends.
    A checkpoint loaded for a later test stage, though, restores the raw weights beside the
    average; swapping for test as for validation keeps test metrics on predict's weights.

    Args:
        decay: weight of the running average at each step (0.99: about the last 100 steps).
        kwargs: passed on to :class:`~lightning.pytorch.callbacks.EMAWeightAveraging`.
    """

    def __init__(self, decay: float = 0.99, **kwargs: Any) -> None:
        super().__init__(decay=decay, **kwargs)

    def on_test_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if self._average_model is not None:
            self._swap_models(pl_module)

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self._average_model is not None:
            self._swap_models(pl_module)
