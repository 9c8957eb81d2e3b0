"""Earth Engine authentication, without ever printing, logging or saving a credential.

The project comes from the config or the environment (``EE_PROJECT``, then
``GOOGLE_CLOUD_PROJECT``). A service account is used when a key *file path* is given;
the key's contents are never accepted in the config (Hydra would save them) and never
appear in a message. Without a key, the user's own credentials from
``earthengine authenticate`` are used.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from minegeo.errors import MinegeoInputError

__all__ = ["PROJECT_ENV_VARS", "SECRET_KEYS", "initialize", "redact", "resolve_key_path", "resolve_project"]

log = logging.getLogger(__name__)

#: Environment variables read, in order, when the config names no project.
PROJECT_ENV_VARS = ("EE_PROJECT", "GOOGLE_CLOUD_PROJECT")
#: Config keys (under ``auth``) whose values are replaced by ``***`` in any dump.
SECRET_KEYS = ("service_account_key",)
_REDACTED = "***"


def resolve_project(configured: str | None) -> str:
    """The Cloud project to bill: the configured one, else ``EE_PROJECT``/``GOOGLE_CLOUD_PROJECT``.

    Args:
        configured: ``auth.project`` (may be None).

    Returns:
        the project id.

    Raises:
        MinegeoInputError: if none is set.
    """
    project = configured or next((os.environ[v] for v in PROJECT_ENV_VARS if os.environ.get(v)), None)
    if not project:
        raise MinegeoInputError(
            "auth.project is not set; expected auth.project=<cloud project id> or EE_PROJECT / "
            "GOOGLE_CLOUD_PROJECT in the environment"
        )
    return project


def resolve_key_path(value: str | None) -> Path | None:
    """Check that a service-account key setting is a path to a file, never the key itself.

    Args:
        value: ``auth.service_account_key`` (may be None).

    Returns:
        the key file's path, or None when no key is configured.

    Raises:
        MinegeoInputError: if the value looks like key contents (not echoed) or is not a file.
    """
    if not value:
        return None
    if "{" in value or "\n" in value or "PRIVATE KEY" in value or len(value) > 1024:
        raise MinegeoInputError(
            "auth.service_account_key looks like key contents (not shown); expected the path of a key file"
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise MinegeoInputError(
            f"auth.service_account_key {path} is not a file; expected a JSON key file path"
        )
    return path


def initialize(ee: Any, project: str, key_path: Path | None) -> None:
    """Initialise Earth Engine for ``project``, with a service-account key file if given.

    Args:
        ee: the Earth Engine module.
        project: the Cloud project id.
        key_path: a service account's JSON key file, or None for the user's credentials.

    Raises:
        MinegeoInputError: if the key file is not a service-account key, or Earth Engine
            refuses the credentials (the message says how to authenticate; no secret in it).
    """
    try:
        if key_path is None:
            ee.Initialize(project=project)
        else:
            credentials = ee.ServiceAccountCredentials(_client_email(key_path), key_file=str(key_path))
            ee.Initialize(credentials=credentials, project=project)
    except ee.EEException as error:
        raise MinegeoInputError(
            f"Earth Engine refused to start for project {project!r} ({type(error).__name__}); expected "
            "`earthengine authenticate` to have been run, or auth.service_account_key=<key file path>"
        ) from None
    log.info(
        "Earth Engine initialised for project %s%s", project, " with a service account" if key_path else ""
    )


def _client_email(key_path: Path) -> str:
    try:
        email = json.loads(key_path.read_text(encoding="utf-8")).get("client_email")
    except (OSError, ValueError, AttributeError):
        email = None
    if not isinstance(email, str):
        raise MinegeoInputError(
            f"{key_path}: not a service-account JSON key; expected a file with client_email"
        )
    return email


def redact(cfg: DictConfig) -> DictConfig:
    """A copy of the config with every secret value replaced by ``***`` (for dumps and logs).

    Interpolations are left unresolved, so a value taken from the environment is not read.

    Args:
        cfg: the export config.

    Returns:
        the redacted copy.
    """
    container = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(container, dict)
    auth = container.get("auth")
    if isinstance(auth, dict):
        for key in SECRET_KEYS:
            value = auth.get(key)
            # An unresolved ${oc.env:...} only names where the value comes from.
            if value is not None and not str(value).startswith("${"):
                auth[key] = _REDACTED
    return OmegaConf.create(container)
