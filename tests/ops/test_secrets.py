"""SECRETS_PROVIDER: HashiCorp Vault and Azure Key Vault clients (hvac, azure-keyvault-secrets)
talk to local servers that answer as the real APIs do; nothing else is faked."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from azure.core.credentials import AccessToken
from cryptography.fernet import Fernet

from app.core.config import Settings, get_settings
from app.core.secrets import SecretsError, apply_secrets, fetch_secrets
from tests.ops.fake_servers import json_response, self_signed_certificate, serve

VAULT_TOKEN = "hvs.test-token"
NEW_MFA_KEY, OLD_MFA_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
VAULT_DATA = {
    "SECRET_KEY": "vault-secret-key-0123456789-0123456789-abcdef",
    "DATABASE_URL": "postgresql+psycopg://lms:from-vault@db.internal:5432/lms",
    "SMTP_PASSWORD": "smtp-from-vault",
    "MFA_SECRET_ENCRYPTION_KEYS": f"{NEW_MFA_KEY},{OLD_MFA_KEY}",
    "UNRELATED": "ignored",
}


def vault_handler(method: str, path: str, headers: dict[str, str]) -> tuple:
    if headers.get("x-vault-token") != VAULT_TOKEN:
        return json_response(403, {"errors": ["permission denied"]})
    if method == "GET" and urlparse(path).path == "/v1/kv/data/apps/lms":
        return json_response(
            200,
            {
                "data": {
                    "data": VAULT_DATA,
                    "metadata": {"version": 3, "deletion_time": "", "destroyed": False},
                }
            },
        )
    return json_response(404, {"errors": []})


def vault_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SECRETS_PROVIDER": "vault",
        "VAULT_ADDR": url,
        "VAULT_TOKEN": VAULT_TOKEN,
        "VAULT_MOUNT_POINT": "kv",
        "VAULT_SECRET_PATH": "apps/lms",
        "SECRET_KEY": "from-the-environment-0123456789-0123456789",
        **overrides,
    }
    return Settings(**values)


def test_env_provider_fetches_nothing() -> None:
    settings = Settings(SECRETS_PROVIDER="env", SECRET_KEY="x" * 40)
    assert fetch_secrets(settings) == {}
    assert apply_secrets(settings) is settings


def test_vault_secrets_replace_the_environment() -> None:
    with serve(vault_handler) as vault:
        settings = apply_secrets(vault_settings(vault.url))
    assert VAULT_DATA["SECRET_KEY"] == settings.SECRET_KEY
    assert VAULT_DATA["DATABASE_URL"] == settings.DATABASE_URL
    assert VAULT_DATA["SMTP_PASSWORD"] == settings.SMTP_PASSWORD
    assert settings.MFA_SECRET_ENCRYPTION_KEYS == [NEW_MFA_KEY, OLD_MFA_KEY]
    assert not hasattr(settings, "UNRELATED")
    method, path, headers = vault.requests[0]
    assert (method, urlparse(path).path) == ("GET", "/v1/kv/data/apps/lms")
    assert headers["x-vault-token"] == VAULT_TOKEN


def test_get_settings_loads_from_vault(env: Callable[..., None]) -> None:
    with serve(vault_handler) as vault:
        env(
            SECRETS_PROVIDER="vault",
            VAULT_ADDR=vault.url,
            VAULT_TOKEN=VAULT_TOKEN,
            VAULT_MOUNT_POINT="kv",
            VAULT_SECRET_PATH="apps/lms",
        )
        settings = get_settings()
    assert VAULT_DATA["SECRET_KEY"] == settings.SECRET_KEY
    get_settings.cache_clear()


def test_vault_refusal_stops_startup_without_leaking_the_token() -> None:
    with serve(vault_handler) as vault, pytest.raises(SecretsError) as caught:
        fetch_secrets(vault_settings(vault.url, VAULT_TOKEN="hvs.wrong-token"))
    assert "Forbidden" in str(caught.value)
    assert "wrong-token" not in str(caught.value)


def test_vault_missing_secret_path_is_an_error() -> None:
    with serve(vault_handler) as vault, pytest.raises(SecretsError):
        fetch_secrets(vault_settings(vault.url, VAULT_SECRET_PATH="apps/other"))


def test_unreachable_vault_is_an_error() -> None:
    with serve(vault_handler) as vault:
        url = vault.url
    with pytest.raises(SecretsError, match="could not be read"):
        fetch_secrets(vault_settings(url))


def test_vault_needs_address_and_token() -> None:
    with pytest.raises(SecretsError, match="VAULT_ADDR"):
        fetch_secrets(Settings(SECRETS_PROVIDER="vault", VAULT_ADDR=None))


# --- Azure Key Vault -----------------------------------------------------------------------


class StaticCredential:
    """An azure-core token credential (what DefaultAzureCredential returns from Entra ID)."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("kv-access-token", int(time.time()) + 3600)


def keyvault_handler(secrets: dict[str, str], *, forbidden: bool = False) -> Callable:
    def handle(method: str, path: str, headers: dict[str, str]) -> tuple:
        if headers.get("authorization") != "Bearer kv-access-token":
            # Key Vault answers an unauthenticated request with a challenge naming the
            # resource. The client checks the vault host is a subdomain of that resource;
            # for the host 127.0.0.1 the resource "0.1" passes the check unchanged.
            port = headers["host"].rsplit(":", 1)[1]
            challenge = (
                'Bearer authorization="https://login.microsoftonline.com/tenant-id", '
                f'resource="https://0.1:{port}"'
            )
            return json_response(
                401, {"error": {"code": "Unauthorized"}}, {"WWW-Authenticate": challenge}
            )
        if forbidden:
            return json_response(403, {"error": {"code": "Forbidden", "message": "denied"}})
        parts = urlparse(path).path.strip("/").split("/")
        if method == "GET" and parts[0] == "secrets" and parts[1] in secrets:
            name = parts[1]
            return json_response(
                200,
                {
                    "value": secrets[name],
                    "id": f"https://{headers['host']}/secrets/{name}/0123456789abcdef",
                    "attributes": {"enabled": True},
                },
            )
        return json_response(
            404, {"error": {"code": "SecretNotFound", "message": "A secret was not found"}}
        )

    return handle


@pytest.fixture
def trusted_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    cert, key = self_signed_certificate(tmp_path)
    # Key Vault only speaks HTTPS; the client trusts the local server's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    return cert, key


def test_azure_keyvault_secrets_replace_the_environment(trusted_tls: tuple[Path, Path]) -> None:
    stored = {
        "SECRET-KEY": "kv-secret-key-0123456789-0123456789-abcdef",
        "SMTP-PASSWORD": "kv-smtp",
    }
    credential = StaticCredential()
    with serve(keyvault_handler(stored), tls=trusted_tls) as keyvault:
        base = Settings(
            SECRETS_PROVIDER="azure_keyvault",
            AZURE_KEYVAULT_URL=keyvault.url,
            DATABASE_URL="sqlite:///kept-from-env.db",
        )
        settings = apply_secrets(base, credential=credential)
    assert stored["SECRET-KEY"] == settings.SECRET_KEY
    assert settings.SMTP_PASSWORD == "kv-smtp"
    # Not in the vault: the environment's value stays.
    assert settings.DATABASE_URL == "sqlite:///kept-from-env.db"
    assert credential.scopes and all(scope.endswith("/.default") for scope in credential.scopes)
    requested = {urlparse(path).path.strip("/") for _, path, _ in keyvault.requests}
    assert {
        "secrets/SECRET-KEY",
        "secrets/DATABASE-URL",
        "secrets/SMTP-PASSWORD",
        "secrets/MFA-SECRET-ENCRYPTION-KEYS",
    } <= requested


def test_azure_keyvault_refusal_is_an_error(trusted_tls: tuple[Path, Path]) -> None:
    with serve(keyvault_handler({}, forbidden=True), tls=trusted_tls) as keyvault:
        settings = Settings(SECRETS_PROVIDER="azure_keyvault", AZURE_KEYVAULT_URL=keyvault.url)
        with pytest.raises(SecretsError, match="SECRET-KEY"):
            fetch_secrets(settings, credential=StaticCredential())


def test_azure_keyvault_needs_a_url() -> None:
    with pytest.raises(SecretsError, match="AZURE_KEYVAULT_URL"):
        fetch_secrets(Settings(SECRETS_PROVIDER="azure_keyvault", AZURE_KEYVAULT_URL=None))
