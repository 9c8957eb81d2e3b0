"""minegeo.inference: stream scenes through a model into probability COGs, then detections and a report."""

from minegeo.inference.blending import RowBlender, axis_weights, window_1d
from minegeo.inference.blocks import SceneBlocks, UnitGrid
from minegeo.inference.engine import Predictor, SceneWriter, WindowDataModule
from minegeo.inference.reading import SceneJob, WindowDataset, read_window
from minegeo.inference.runner import is_finished, load_models, run_predict
from minegeo.inference.scenes import Scene, check_scene, find_scenes, write_mosaic_vrt
from minegeo.inference.tiling import Chunk, Plan, make_plan, segmentation_plan, strided_plan, tile_starts
from minegeo.inference.writer import ProbabilityWriter

__all__ = [
    "Chunk",
    "Plan",
    "Predictor",
    "ProbabilityWriter",
    "RowBlender",
    "Scene",
    "SceneBlocks",
    "SceneJob",
    "SceneWriter",
    "UnitGrid",
    "WindowDataModule",
    "WindowDataset",
    "axis_weights",
    "check_scene",
    "find_scenes",
    "is_finished",
    "load_models",
    "make_plan",
    "read_window",
    "run_predict",
    "segmentation_plan",
    "strided_plan",
    "tile_starts",
    "window_1d",
    "write_mosaic_vrt",
]
