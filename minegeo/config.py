"""Where the Hydra configs live, the resolvers they use, and typed settings read from them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException

from minegeo.errors import MinegeoInputError

Settings = TypeVar("Settings")


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
        "fast_precision": fast_precision,
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


def fast_precision(accelerator: str = "auto") -> str:
    """``bf16-mixed`` where the chip computes bfloat16 natively, else ``32-true``.

    On a CPU with AVX512-BF16 (or AMX) a training step under bfloat16 autocast costs about
    0.65 of float32's (``experiments/benchmarks/train_step.py``); elsewhere on a CPU bfloat16
    is emulated and slower than float32. Weights and optimizer state stay float32 either way.
    """
    import torch

    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"
    if accelerator not in ("cpu", "auto"):
        return "32-true"
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    native = native or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return "bf16-mixed" if native else "32-true"


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


def load_structured(
    schema: type[Settings],
    cfg: Settings | DictConfig | Mapping[str, Any],
    command: str,
    expected: Callable[[str], str],
    key_of: Callable[[str], str] = str,
) -> Settings:
    """``cfg`` merged onto the dataclass ``schema`` and built, OmegaConf's errors as one line.

    Args:
        schema: the settings dataclass.
        cfg: the composed config (or a plain mapping, or settings already built, returned
            as they are).
        command: the command (``predict``, ``evaluate``), named with its ``conf/<command>.yaml``.
        expected: what a valid value of a key looks like, for the error line.
        key_of: the key an error is reported under, from OmegaConf's full key.

    Raises:
        MinegeoInputError: naming the key, the value and what is expected.
    """
    if isinstance(cfg, schema):
        return cfg
    raw = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cast("Mapping[str, Any]", cfg)))
    try:
        settings = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except MissingMandatoryValue as error:
        raise MinegeoInputError(f"{error.full_key} is missing: give it on the command line") from None
    except ConfigKeyError as error:
        article = "an" if command[0] in "aeiou" else "a"
        raise MinegeoInputError(
            f"{error.full_key}: not {article} {command} setting (see conf/{command}.yaml)"
        ) from None
    except OmegaConfBaseException as error:
        key = key_of(error.full_key or "config")
        raise setting_error(key, OmegaConf.select(raw, key, default=None), expected(key)) from None
    assert isinstance(settings, schema)
    return settings


def setting_error(key: str, value: Any, expected: str) -> MinegeoInputError:
    """``key=value: expected ...``, with YAML's spelling of null and booleans."""
    shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else value
    return MinegeoInputError(f"{key}={shown}: expected {expected}")
