"""The settings of a predict run: one dataclass per node of ``conf/predict.yaml``, checked once.

:func:`load_settings` merges the composed config onto :class:`PredictSettings` (a wrong
type names its key) and builds the dataclasses, whose ``__post_init__`` checks ranges and
choices, so the run receives typed values and checks none of them again. Every problem
is one :class:`~minegeo.errors.MinegeoInputError` naming the key, the value and what is
expected, raised before a model is loaded or a scene is read.

The schema is registered in Hydra's ConfigStore as ``predict_schema`` for code that
composes it. ``python -m minegeo.predict`` merges onto it itself instead of listing it in
``predict.yaml``'s defaults: Hydra reports a wrong type in four lines and a hint, where a
user should get one. OmegaConf 2.3 takes no ``Literal`` annotations, so fields with a few
allowed values are typed ``str`` (or ``bool | str``) and checked against the ``Literal``
aliases below.

This module imports nothing heavy: the entry point checks settings in well under a second.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig

from minegeo.change.params import ChangeParams
from minegeo.config import load_structured, setting_error

Tta = Literal["none", "flips", "d4"]
Dtype = Literal["uint8", "float32"]
Compress = Literal["deflate", "lzw", "zstd", "none"]
Precision = Literal["32-true", "32", "64-true", "64", "bf16-mixed", "bf16-true", "16-mixed", "16-true"]
Auto = Literal["auto", True, False]
#: what the keys that take a word or a value accept (OmegaConf reports only the type)
_EXPECTED = {
    "change": "one of auto, true, false",
    "gdal.threads": "ALL_CPUS or a whole number >= 1",
}
#: highest DEFLATE (libdeflate) and ZSTD levels GDAL accepts
MAX_LEVEL = {"deflate": 12, "zstd": 22}


def _choose(key: str, value: Any, choices: Any) -> None:
    allowed = get_args(choices)
    if not any(value == choice and type(value) is type(choice) for choice in allowed):
        names = ", ".join(str(choice).lower() if isinstance(choice, bool) else choice for choice in allowed)
        raise setting_error(key, value, f"one of {names}")


def _at_least(key: str, value: int | float | None, low: float, what: str = "a whole number") -> None:
    if value is not None and value < low:
        raise setting_error(key, value, f"{what} >= {low:g}")


@dataclass
class GdalSettings:
    """GDAL inside the run."""

    #: threads decoding a strip's tiles (GDAL_NUM_THREADS): ALL_CPUS or a count
    threads: int | str = "ALL_CPUS"
    #: GDAL's own block cache, MB (process-wide)
    cache_mb: int = 64

    def __post_init__(self) -> None:
        if isinstance(self.threads, str) and self.threads.upper() != "ALL_CPUS":
            raise setting_error("gdal.threads", self.threads, "ALL_CPUS or a whole number >= 1")
        if isinstance(self.threads, int):
            _at_least("gdal.threads", self.threads, 1)
        _at_least("gdal.cache_mb", self.cache_mb, 0)


@dataclass
class DetectParams:
    """The ``detect`` node: probability raster -> detections."""

    #: a pixel (cell) is a detection when its detection-class probability reaches this
    threshold: float = 0.6
    #: isolated pixels (no 8-neighbour above ``threshold``) must reach this; None: off
    high_threshold: float | None = None
    #: detection classes; None: every class except the "nothing here" ones
    classes: list[str] | None = None
    #: components smaller than this are dropped
    min_area_m2: float = 0.0
    #: FCN cells closer than this (centre to centre) join one site; None: 8-connected only
    merge_distance_m: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise setting_error("detect.threshold", self.threshold, "a value in (0, 1]")
        high = self.high_threshold
        if high is not None and not self.threshold <= high <= 1.0:
            raise setting_error(
                "detect.high_threshold", high, f"a value from detect.threshold ({self.threshold}) to 1"
            )
        if self.classes is not None and not self.classes:
            raise setting_error("detect.classes", "[]", "class names, or null for every detection class")
        _at_least("detect.min_area_m2", self.min_area_m2, 0, "a number")
        _at_least("detect.merge_distance_m", self.merge_distance_m, 0, "a number")


@dataclass
class OreTypeSettings:
    """The ``oretype`` node: the paper's impact CNN on each detection."""

    #: an ore-type checkpoint; None: the stage is off
    ckpt: str | None = None
    #: ore types whose detections leave the run
    drop_classes: list[str] = field(default_factory=lambda: ["no_ore"])
    #: windows per model call
    batch_size: int = 256

    def __post_init__(self) -> None:
        _at_least("oretype.batch_size", self.batch_size, 1)


@dataclass
class RegistrySettings:
    """The ``registry`` node: which official registries tell registered mines."""

    #: SIGMINE-style concession polygons (any vector file with a CRS)
    concessions: str | None = None
    #: ANM dam list (TSV)
    dams: str | None = None
    #: a detection this close to a registered feature counts as registered
    max_distance_m: float = 0.0

    def __post_init__(self) -> None:
        _at_least("registry.max_distance_m", self.max_distance_m, 0, "a number")


@dataclass
class ReportSettings:
    """The ``report`` node."""

    #: unregistered sites listed in the summary
    top_n: int = 20
    #: a quick-look PNG per scene
    quicklook: bool = True

    def __post_init__(self) -> None:
        _at_least("report.top_n", self.top_n, 0)


@dataclass
class PredictSettings:
    """``conf/predict.yaml``, typed and checked (see that file for what each key does)."""

    ckpt: Any = MISSING
    input: str = MISSING
    out: str = MISSING
    mosaic: bool = True
    #: stored value -> reflectance for scenes without a scale tag (0.0001 for DN); null: the checkpoint's
    input_scale: float | None = None
    # windows
    tile_size: int = 512
    overlap: int = 64
    fcn_cells: int = 48
    batch_size: int = 4
    num_workers: int = 0
    #: most memory of one reader's strip, MB; wider scenes are read in column segments
    strip_mb: int = 512
    gdal: GdalSettings = field(default_factory=GdalSettings)
    tta: str = "none"
    reuse_freed_memory: bool = True
    channels_last: bool = True
    # engine (Lightning)
    accelerator: str = "auto"
    devices: Any = 1
    strategy: str = "auto"
    precision: str = "32-true"
    progress: bool = True
    # output
    dtype: str = "uint8"
    compress: str = "deflate"
    compress_level: int | None = 1
    # post-processing
    postprocess: bool = True
    detect: DetectParams = field(default_factory=DetectParams)
    oretype: OreTypeSettings = field(default_factory=OreTypeSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    #: change detection across periods of a place: auto (when a place has several), true, false
    change: bool | str = "auto"
    change_rules: ChangeParams = field(default_factory=ChangeParams)

    def __post_init__(self) -> None:
        self._check_paths()
        self._check_windows()
        for key, choices in (
            ("tta", Tta),
            ("dtype", Dtype),
            ("compress", Compress),
            ("precision", Precision),
        ):
            _choose(key, getattr(self, key), choices)
        _choose("change", self.change, Auto)
        high = MAX_LEVEL.get(self.compress)
        if high is not None and self.compress_level is not None and not 1 <= self.compress_level <= high:
            raise setting_error(
                "compress_level",
                self.compress_level,
                f"a whole number from 1 to {high} for {self.compress}, or null",
            )

    @property
    def checkpoints(self) -> list[str]:
        """The checkpoint paths: one, or several for an ensemble."""
        return [self.ckpt] if isinstance(self.ckpt, str) else list(self.ckpt)

    def _check_paths(self) -> None:
        ckpt = self.ckpt
        if isinstance(ckpt, (list, tuple)) or type(ckpt).__name__ == "ListConfig":
            ckpt = [str(path) for path in ckpt]
        if not (isinstance(ckpt, str) and ckpt) and not (isinstance(ckpt, list) and ckpt):
            raise setting_error("ckpt", self.ckpt, "a checkpoint path, or a list of them for an ensemble")
        self.ckpt = ckpt
        for key in ("input", "out"):
            if not getattr(self, key):
                raise setting_error(key, "''", "a path")

    def _check_windows(self) -> None:
        _at_least("tile_size", self.tile_size, 1)
        if not 0 <= self.overlap <= self.tile_size // 2:
            raise setting_error(
                "overlap", self.overlap, f"a whole number from 0 to tile_size/2 ({self.tile_size // 2})"
            )
        _at_least("fcn_cells", self.fcn_cells, 1)
        if self.input_scale is not None and not self.input_scale > 0:
            raise setting_error("input_scale", self.input_scale, "a number > 0, or null")
        _at_least("batch_size", self.batch_size, 1)
        _at_least("num_workers", self.num_workers, 0)
        _at_least("strip_mb", self.strip_mb, 1)


def load_settings(cfg: PredictSettings | DictConfig | Mapping[str, Any]) -> PredictSettings:
    """The run's settings from a composed config, checked.

    Args:
        cfg: the config Hydra composed from ``conf/predict.yaml`` (or a plain mapping, or
            settings already loaded, returned as they are).

    Returns:
        the typed settings.

    Raises:
        MinegeoInputError: one line naming the key, the value and what is expected.
    """
    expected = lambda key: _EXPECTED.get(key) or describe(_field_type(key))  # noqa: E731
    return load_structured(PredictSettings, cfg, "predict", expected)


def _field_type(key: str) -> Any:
    """The annotation of a dotted key of :class:`PredictSettings` (None when unknown)."""
    node: Any = PredictSettings
    hint: Any = None
    for part in key.split("."):
        if not dataclasses.is_dataclass(node):
            return None
        hint = get_type_hints(node).get(part)
        node = hint
    return hint


def describe(hint: Any) -> str:
    """What a value of type ``hint`` looks like, for an error line."""
    words = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
    if get_origin(hint) in (Union, types.UnionType):
        parts = [describe(arg) for arg in get_args(hint) if arg is not type(None)]
        optional = " or null" if type(None) in get_args(hint) else ""
        return " or ".join(parts) + optional
    if get_origin(hint) is list:
        return "a list"
    return words.get(hint, "a valid value")


ConfigStore.instance().store(name="predict_schema", node=PredictSettings)
