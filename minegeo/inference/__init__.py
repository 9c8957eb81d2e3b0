"""minegeo.inference: stream scenes through a model into probability COGs (the scan).

:mod:`~minegeo.inference.engine` shows how a window travels from a scene file to its
COG. Names are imported on first use, so that the entry point's cheap checks
(:mod:`~minegeo.inference.settings`, :mod:`~minegeo.inference.preflight`) answer before
torch and Lightning load.
"""

from __future__ import annotations

from minegeo.lazy import lazy_exports

#: submodule -> the public names it defines
_MODULES = {
    "blending": ("RowBlender", "axis_weights", "window_1d"),
    "engine": ("Predictor", "SceneWriter", "WindowDataModule"),
    "reading": ("SceneJob", "StripReader", "WindowDataset"),
    "resume": ("is_finished",),
    "runner": ("load_models", "run_predict"),
    "scenes": ("Scene", "check_scene", "find_scenes", "write_mosaic_vrt"),
    "settings": ("PredictSettings", "load_settings"),
    "tiling": ("Chunk", "Plan", "make_plan", "segmentation_plan", "strided_plan", "tile_starts"),
    "writer": ("ProbabilityWriter",),
}

__all__, __getattr__ = lazy_exports(__name__, _MODULES)
