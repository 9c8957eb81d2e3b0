"""minegeo.inference: stream scenes through a model into probability COGs (the scan).

Names are imported on first use, so that the entry point's cheap checks
(:mod:`~minegeo.inference.settings`, :mod:`~minegeo.inference.preflight`) answer before
torch and Lightning load.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minegeo.inference.blending import RowBlender, axis_weights, window_1d
    from minegeo.inference.engine import Predictor, SceneWriter, WindowDataModule
    from minegeo.inference.reading import SceneJob, StripReader, WindowDataset
    from minegeo.inference.resume import is_finished
    from minegeo.inference.runner import load_models, run_predict
    from minegeo.inference.scenes import Scene, check_scene, find_scenes, write_mosaic_vrt
    from minegeo.inference.settings import PredictSettings, load_settings
    from minegeo.inference.tiling import Chunk, Plan, make_plan, segmentation_plan, strided_plan, tile_starts
    from minegeo.inference.writer import ProbabilityWriter

#: public name -> the module defining it
_MODULES = {
    "RowBlender": "blending",
    "axis_weights": "blending",
    "window_1d": "blending",
    "Predictor": "engine",
    "SceneWriter": "engine",
    "WindowDataModule": "engine",
    "SceneJob": "reading",
    "WindowDataset": "reading",
    "StripReader": "reading",
    "is_finished": "resume",
    "load_models": "runner",
    "run_predict": "runner",
    "Scene": "scenes",
    "check_scene": "scenes",
    "find_scenes": "scenes",
    "write_mosaic_vrt": "scenes",
    "PredictSettings": "settings",
    "load_settings": "settings",
    "Chunk": "tiling",
    "Plan": "tiling",
    "make_plan": "tiling",
    "segmentation_plan": "tiling",
    "strided_plan": "tiling",
    "tile_starts": "tiling",
    "ProbabilityWriter": "writer",
}

__all__ = [
    "Chunk",
    "Plan",
    "PredictSettings",
    "Predictor",
    "ProbabilityWriter",
    "RowBlender",
    "Scene",
    "SceneJob",
    "SceneWriter",
    "StripReader",
    "WindowDataModule",
    "WindowDataset",
    "axis_weights",
    "check_scene",
    "find_scenes",
    "is_finished",
    "load_models",
    "load_settings",
    "make_plan",
    "run_predict",
    "segmentation_plan",
    "strided_plan",
    "tile_starts",
    "window_1d",
    "write_mosaic_vrt",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"minegeo.inference.{_MODULES[name]}"), name)
