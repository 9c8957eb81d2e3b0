"""Where the Hydra configs live, and the resolvers they use."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf


def _find_config_dir() -> Path:
    # A source checkout (and uv's editable install) keeps conf/ beside the package; the
    # wheel ships it inside the package as minegeo/conf.
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "conf", package / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    return package.parent / "conf"


#: Absolute path of the Hydra config directory, for ``@hydra.main(config_path=...)``.
CONFIG_DIR = _find_config_dir()
#: Root of the source checkout (where ``data/demo`` is generated on first use).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def register_resolvers() -> None:
    """Register OmegaConf resolvers the configs use (idempotent)."""
    resolvers: dict[str, Callable[..., Any]] = {
        "len": len,
        "project_root": lambda: str(PROJECT_ROOT),
        "wandb_offline": wandb_offline,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def wandb_offline() -> bool:
    """W&B stays offline unless the user asked for online logging (mode or API key)."""
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in {"offline", "disabled", "dryrun"}:
        return True
    return not (mode == "online" or os.environ.get("WANDB_API_KEY"))


def log_lightning_once() -> None:
    """Let Hydra's job logging alone print Lightning's log lines.

    Importing ``lightning`` gives its ``lightning`` logger a console handler of its own
    while its records still propagate to the root logger that Hydra configured, so every
    line came out twice (``INFO: ...`` and Hydra's format). Without Hydra's handlers (a
    plain script) Lightning's stays.
    """
    import lightning  # noqa: F401  (adds the handler this removes)

    if logging.getLogger().handlers:
        logging.getLogger("lightning").handlers.clear()
