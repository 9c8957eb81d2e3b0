"""Authentication: project lookup, key paths only, nothing secret in messages or dumps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from minegeo.earthengine.auth import initialize, redact, resolve_key_path, resolve_project
from minegeo.errors import MinegeoInputError
from tests.earthengine.fake_ee import FakeEE

SECRET = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    path.write_text(
        json.dumps({"type": "service_account", "client_email": "sa@p.iam", "private_key": SECRET})
    )
    return path


def test_configured_project_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EE_PROJECT", "from-env")
    assert resolve_project("from-config") == "from-config"


def test_project_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EE_PROJECT", raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "gcp")
    assert resolve_project(None) == "gcp"


def test_missing_project_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EE_PROJECT", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(MinegeoInputError, match=r"auth.project is not set"):
        resolve_project(None)


def test_key_contents_are_refused_without_being_echoed(key_file: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"looks like key contents \(not shown\)") as caught:
        resolve_key_path(key_file.read_text())
    assert "PRIVATE" not in str(caught.value) and "sa@p.iam" not in str(caught.value)


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MinegeoInputError, match=r"nope.json is not a file"):
        resolve_key_path(str(tmp_path / "nope.json"))


def test_service_account_initialisation(fake_ee: FakeEE, key_file: Path) -> None:
    initialize(fake_ee, "proj", resolve_key_path(str(key_file)))
    (credentials,) = fake_ee.called("ee.ServiceAccountCredentials")
    assert credentials.args == ("sa@p.iam",) and credentials.kwargs == {"key_file": str(key_file)}
    (init,) = fake_ee.called("ee.Initialize")
    assert init.kwargs == {"credentials": credentials, "project": "proj"}


def test_user_credentials_initialisation(fake_ee: FakeEE) -> None:
    initialize(fake_ee, "proj", None)
    assert fake_ee.called("ee.Initialize")[0].kwargs == {"project": "proj"}
    assert not fake_ee.called("ee.ServiceAccountCredentials")


def test_refused_credentials_give_one_line_without_secrets(
    fake_ee: FakeEE, key_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(call: object) -> None:
        raise fake_ee.EEException("invalid_grant")

    fake_ee.hooks["ee.Initialize"] = refuse
    with pytest.raises(
        MinegeoInputError, match=r"Earth Engine refused to start for project 'proj'"
    ) as caught:
        initialize(fake_ee, "proj", key_file)
    assert "PRIVATE" not in str(caught.value) + caplog.text


def test_a_key_file_without_client_email_is_refused(fake_ee: FakeEE, tmp_path: Path) -> None:
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"type": "authorized_user", "refresh_token": "r"}))
    with pytest.raises(MinegeoInputError, match=r"user.json: not a service-account JSON key"):
        initialize(fake_ee, "proj", path)


def test_redact_hides_literal_secrets_and_keeps_env_interpolations() -> None:
    literal = OmegaConf.create({"auth": {"project": "p", "service_account_key": "/keys/sa.json"}})
    from_env = OmegaConf.create({"auth": {"service_account_key": "${oc.env:EE_SERVICE_ACCOUNT_KEY,null}"}})
    assert redact(literal).auth.service_account_key == "***" and redact(literal).auth.project == "p"
    saved = OmegaConf.to_yaml(redact(from_env))
    assert "service_account_key: ${oc.env:EE_SERVICE_ACCOUNT_KEY,null}" in saved
