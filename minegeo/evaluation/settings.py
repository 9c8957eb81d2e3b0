"""The settings of an evaluate run: ``conf/evaluate.yaml`` as one dataclass, checked once.

:func:`load_settings` merges the composed config onto :class:`EvaluateSettings` (a wrong
type names its key) and builds it, so the run receives typed values. Every problem is
one :class:`~minegeo.errors.MinegeoInputError` naming the key, the value and what is
expected, raised before any file is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig

from minegeo import IGNORE_INDEX
from minegeo.config import load_structured, setting_error

#: mask value -> class when ``mask_values`` is null (tailings_seg's masks)
DEFAULT_MASK_VALUES = {1: "tailings_dam"}
#: what each key takes, for the line that reports a value of the wrong type
_EXPECTED = {
    "maps": "a folder of <stem>.prob.tif maps",
    "truth": "a folder of masks or a GPKG/GeoJSON file of label polygons",
    "out": "a folder, or null for the maps folder",
    "threshold": "a number in (0, 1)",
    "mask_values": "a mapping of mask values 0..254 to class names, e.g. {1: tailings_dam}",
    "class_column": "the name of the polygons' class column",
    "layer": "a layer name, or null for the first",
    "calibration_bins": "a whole number from 2 to 100",
}


@dataclass
class EvaluateSettings:
    """``conf/evaluate.yaml``, typed and checked (see that file for what each key does)."""

    maps: str = MISSING
    truth: str = MISSING
    out: str | None = None
    threshold: float = 0.5
    #: null in the YAML, so a command-line mapping replaces it whole (Hydra would refuse
    #: new keys in a mapping it already holds)
    mask_values: dict[int, str] | None = None
    class_column: str = "class"
    layer: str | None = None
    calibration_bins: int = 10

    def __post_init__(self) -> None:
        for key in ("maps", "truth"):
            if not getattr(self, key):
                raise setting_error(key, "''", _EXPECTED[key])
        if not 0.0 < self.threshold < 1.0:
            raise setting_error("threshold", self.threshold, _EXPECTED["threshold"])
        if not 2 <= self.calibration_bins <= 100:
            raise setting_error("calibration_bins", self.calibration_bins, _EXPECTED["calibration_bins"])
        self._check_mask_values()

    def _check_mask_values(self) -> None:
        values = self.mask_classes
        if not values or any(not 0 <= key < IGNORE_INDEX or not name for key, name in values.items()):
            raise setting_error("mask_values", dict(values), _EXPECTED["mask_values"])

    @property
    def mask_classes(self) -> dict[int, str]:
        """Mask value -> class (``mask_values``, or its default)."""
        return dict(self.mask_values or DEFAULT_MASK_VALUES)

    @property
    def out_dir(self) -> Path:
        """Where the outputs go: ``out``, else the maps folder."""
        return Path(self.out if self.out else self.maps)


def load_settings(cfg: EvaluateSettings | DictConfig | Mapping[str, Any]) -> EvaluateSettings:
    """The run's settings from a composed config, checked.

    Args:
        cfg: the config Hydra composed from ``conf/evaluate.yaml`` (or a plain mapping,
            or settings already loaded, returned as they are).

    Returns:
        the typed settings.

    Raises:
        MinegeoInputError: one line naming the key, the value and what is expected.
    """
    expected = lambda key: _EXPECTED.get(key, "a valid value")  # noqa: E731
    top_level = lambda key: key.split(".")[0].split("[")[0]  # noqa: E731
    return load_structured(EvaluateSettings, cfg, "evaluate", expected, key_of=top_level)
