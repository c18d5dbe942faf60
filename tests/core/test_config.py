"""Settings: production validation (each rule), documentation of every variable, docs toggle."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from app.core.config import ConfigurationError, Settings
from tests.conftest import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]


def _production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {**PRODUCTION_ENV, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_good_production_configuration_has_no_problems() -> None:
    assert _production().production_problems() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "short-key"}, "shorter than 32"),
        ({"SECRET_KEY": "change-me"}, "placeholder"),
        ({"DEBUG": True}, "DEBUG must be false"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS must not contain '*'"),
        ({"DATABASE_URL": "sqlite:///var/lms.db"}, "not SQLite"),
        ({"REDIS_URL": None}, "REDIS_URL must be set"),
        ({"MFA_SECRET_ENCRYPTION_KEYS": ""}, "MFA_SECRET_ENCRYPTION_KEYS is not set"),
        ({"MFA_SECRET_ENCRYPTION_KEYS": "change-me"}, "key 1 is not a Fernet key"),
        (
            {"MFA_SECRET_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},c2hvcnQ="},
            "key 2 is not a Fernet key",
        ),
    ],
)
def test_each_production_rule(overrides: dict[str, Any], expected: str) -> None:
    problems = _production(**overrides).production_problems()
    assert any(expected in problem for problem in problems), problems


def test_startup_lists_every_problem_at_once(env: Any) -> None:
    from app.main import create_app

    env(
        **{
            **PRODUCTION_ENV,
            "SECRET_KEY": "short",
            "DEBUG": "true",
            "CORS_ORIGINS": "*",
            "MFA_SECRET_ENCRYPTION_KEYS": None,
        }
    )
    with pytest.raises(ConfigurationError) as excinfo:
        create_app()
    message = str(excinfo.value)
    assert "SECRET_KEY" in message and "DEBUG" in message and "CORS_ORIGINS" in message
    assert "MFA_SECRET_ENCRYPTION_KEYS is not set" in message


def test_docs_are_off_in_production_unless_enabled(env: Any) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    env(**PRODUCTION_ENV, RATE_LIMIT_ENABLED="false")
    client = TestClient(create_app())
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404
    env(ENABLE_API_DOCS="true")
    client = TestClient(create_app())
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_development_generates_a_random_key_per_installation(tmp_path: Path) -> None:
    first = Settings(_env_file=None, VAR_DIR=tmp_path / "a", SECRET_KEY=None)  # type: ignore[call-arg]
    second = Settings(_env_file=None, VAR_DIR=tmp_path / "b", SECRET_KEY=None)  # type: ignore[call-arg]
    assert len(first.signing_key) >= 32
    assert first.signing_key == first.signing_key  # stable for one installation
    assert first.signing_key != second.signing_key
    assert (tmp_path / "a" / "secret_key").read_text().strip() == first.signing_key


def test_development_generates_an_mfa_key_per_installation(tmp_path: Path) -> None:
    unset: Any = {"_env_file": None, "MFA_SECRET_ENCRYPTION_KEYS": ""}
    first = Settings(**unset, VAR_DIR=tmp_path / "a")
    second = Settings(**unset, VAR_DIR=tmp_path / "b")
    [key] = first.mfa_encryption_keys
    Fernet(key)  # a usable key, not a placeholder
    assert first.mfa_encryption_keys == [key]
    assert second.mfa_encryption_keys != [key]
    assert key != first.signing_key
    assert (tmp_path / "a" / "mfa_secret_key").read_text().strip() == key


def test_every_setting_is_documented() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    in_readme = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.MULTILINE))
    fields = set(Settings.model_fields)
    assert fields - documented == set(), "missing from .env.example"
    assert fields - in_readme == set(), "missing from the README configuration table"
    assert documented - fields == set(), ".env.example documents unknown variables"


def test_check_config_masks_secrets_and_fails_on_problems(tmp_path: Path) -> None:
    env = {
        **PRODUCTION_ENV,
        "SECRET_KEY": "tiny",
        "SMTP_PASSWORD": "hunter2-smtp",
        "MFA_SECRET_ENCRYPTION_KEYS": "tiny-mfa-key",
        "DATABASE_URL": "postgresql+psycopg://lms:dbpass@127.0.0.1:1/lms",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "check-config"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "hunter2-smtp" not in result.stdout
    assert "dbpass" not in result.stdout
    assert "tiny" not in result.stdout
    assert "SECRET_KEY is shorter than 32 characters" in result.stderr
    assert "MFA_SECRET_ENCRYPTION_KEYS key 1 is not a Fernet key" in result.stderr
    assert "tiny-mfa-key" not in result.stderr
