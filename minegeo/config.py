"""Where the Hydra configs live, and the resolvers they use."""

from __future__ import annotations

from pathlib import Path

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
    if not OmegaConf.has_resolver("len"):
        OmegaConf.register_new_resolver("len", lambda items: len(items))
