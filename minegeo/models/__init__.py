"""minegeo.models: plain nn.Modules, each exposing ``.geometry`` (a ModelGeometry)."""

from minegeo.models.fcn import DiscoveryFCN, fcn_geometry
from minegeo.models.oretype import OreTypeCNN
from minegeo.models.smp import SegmentationModel, load_weights, smp_model

__all__ = ["DiscoveryFCN", "OreTypeCNN", "SegmentationModel", "fcn_geometry", "load_weights", "smp_model"]
