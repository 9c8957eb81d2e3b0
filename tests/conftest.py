"""Shared fixtures: one tiny synthetic world per test session, and the real data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `small` synthetic world (seed 0), made once per session."""
    from minegeo.datasets.synthetic import make_world

    root = tmp_path_factory.mktemp("world")
    make_world(root, seed=0, size="small")
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data beside the project; skips the test when it is absent."""
    root = SHARED_DATA.resolve()
    if not root.is_dir():
        pytest.skip(f"real data not found at {root}")
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `gpu` tests when CUDA is absent."""
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
