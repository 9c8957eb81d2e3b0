"""Shared fixtures: one tiny synthetic world per test session, and the real data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `small` synthetic world (seed 0), made once per session."""
    from minegeo.world.make import make_world

    root = tmp_path_factory.mktemp("world")
    make_world(root, seed=0, size="small")
    return root


@pytest.fixture(scope="session")
def small_series_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `small` synthetic world (seed 0) at 4 yearly periods, made once per session."""
    from minegeo.world.make import make_world

    return make_world(tmp_path_factory.mktemp("series") / "w", seed=0, size="small", periods=4)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data beside the project; skips the test when it is absent."""
    root = SHARED_DATA.resolve()
    if not root.is_dir():
        pytest.skip(f"real data not found at {root}")
    return root


@pytest.fixture
def hub_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A timm ResNet-18 state dict where TorchGeo looks for its RGB MoCo weights; downloads fail.

    The torch hub cache moves to a temporary ``TORCH_HOME`` and downloads raise, so the
    real loading code runs without the network.
    """
    import urllib.error

    import timm
    import torch

    from minegeo.models.weights import torchgeo_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(url: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(f"no network in tests ({url})")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    torch.manual_seed(1)
    state = {
        k: v for k, v in timm.create_model("resnet18", in_chans=3).state_dict().items() if "fc." not in k
    }
    name = Path(torchgeo_weights("ResNet18_Weights.SENTINEL2_RGB_MOCO").url).name
    path = tmp_path / "torch" / "hub" / "checkpoints" / name
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `gpu` tests when CUDA is absent."""
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
