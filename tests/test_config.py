"""Tests for the Hydra helpers of minegeo.config."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from minegeo.config import log_lightning_once


@pytest.fixture
def lightning_handlers() -> Iterator[list[logging.Handler]]:
    """Lightning's own handlers, restored after the test."""
    import lightning  # noqa: F401

    saved = list(logging.getLogger("lightning").handlers)
    yield saved
    logging.getLogger("lightning").handlers[:] = saved


def test_lightning_lines_go_through_hydras_handlers_only(lightning_handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    hydra_console = logging.StreamHandler()
    root.addHandler(hydra_console)
    try:
        log_lightning_once()
    finally:
        root.removeHandler(hydra_console)

    assert lightning_handlers and logging.getLogger("lightning").handlers == []
    assert logging.getLogger("lightning").propagate  # its records still reach Hydra's handlers
