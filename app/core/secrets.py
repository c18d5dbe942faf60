"""Secrets from a provider, chosen by `SECRETS_PROVIDER`:

- `env` (default): the environment and `.env` already hold everything; nothing is fetched.
- `vault`: HashiCorp Vault KV version 2, secret `VAULT_SECRET_PATH` in mount
  `VAULT_MOUNT_POINT`, read with `VAULT_TOKEN`; keys named like the settings (`SECRET_KEY`).
- `azure_keyvault`: Azure Key Vault at `AZURE_KEYVAULT_URL`, authenticated by
  `DefaultAzureCredential` (managed identity, workload identity, environment...). Key Vault
  names allow no underscores, so `SECRET_KEY` is stored as `SECRET-KEY`.

Values found replace the environment's; a secret missing from the provider keeps the
environment's value. An unreachable or refusing provider stops startup with a clear error
rather than starting with the wrong key or database.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.config import Settings

logger = logging.getLogger("app.secrets")

MANAGED_SECRETS = ("SECRET_KEY", "DATABASE_URL", "SMTP_PASSWORD", "MFA_SECRET_ENCRYPTION_KEYS")
PROVIDER_TIMEOUT_SECONDS = 10


class SecretsError(RuntimeError):
    """The secrets provider could not be read; the message names the provider, never a value."""


def keyvault_name(setting: str) -> str:
    return setting.replace("_", "-")


def _from_vault(settings: Settings) -> dict[str, str]:
    import hvac
    import requests
    from hvac.exceptions import VaultError

    if not settings.VAULT_ADDR or not settings.VAULT_TOKEN:
        raise SecretsError("SECRETS_PROVIDER=vault needs VAULT_ADDR and VAULT_TOKEN")
    client = hvac.Client(
        url=settings.VAULT_ADDR, token=settings.VAULT_TOKEN, timeout=PROVIDER_TIMEOUT_SECONDS
    )
    try:
        response = client.secrets.kv.v2.read_secret_version(
            path=settings.VAULT_SECRET_PATH,
            mount_point=settings.VAULT_MOUNT_POINT,
            raise_on_deleted_version=True,
        )
    except (VaultError, requests.RequestException) as exc:
        raise SecretsError(
            f"Vault secret {settings.VAULT_MOUNT_POINT}/{settings.VAULT_SECRET_PATH} could not "
            f"be read: {type(exc).__name__}"
        ) from exc
    data: dict[str, Any] = response["data"]["data"] or {}
    return {name: str(data[name]) for name in MANAGED_SECRETS if data.get(name)}


def _from_azure_keyvault(settings: Settings, credential: Any = None) -> dict[str, str]:
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from azure.keyvault.secrets import SecretClient

    if not settings.AZURE_KEYVAULT_URL:
        raise SecretsError("SECRETS_PROVIDER=azure_keyvault needs AZURE_KEYVAULT_URL")
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    client = SecretClient(
        vault_url=settings.AZURE_KEYVAULT_URL,
        credential=credential,
        connection_timeout=PROVIDER_TIMEOUT_SECONDS,
        read_timeout=PROVIDER_TIMEOUT_SECONDS,
        retry_total=2,
    )
    found: dict[str, str] = {}
    with client:
        for setting in MANAGED_SECRETS:
            try:
                value = client.get_secret(keyvault_name(setting)).value
            except ResourceNotFoundError:
                continue
            except AzureError as exc:
                raise SecretsError(
                    f"Azure Key Vault secret {keyvault_name(setting)} could not be read: "
                    f"{type(exc).__name__}"
                ) from exc
            if value:
                found[setting] = value
    return found


def fetch_secrets(settings: Settings, *, credential: Any = None) -> dict[str, str]:
    """The managed secrets the configured provider holds (empty for `env`).

    `credential` replaces `DefaultAzureCredential` for Azure Key Vault (any azure-core token
    credential)."""
    if settings.SECRETS_PROVIDER == "vault":
        found = _from_vault(settings)
    elif settings.SECRETS_PROVIDER == "azure_keyvault":
        found = _from_azure_keyvault(settings, credential)
    else:
        return {}
    logger.info(
        "secrets loaded from %s: %s", settings.SECRETS_PROVIDER, ", ".join(sorted(found)) or "none"
    )
    return found


def apply_secrets(settings: Settings, *, credential: Any = None) -> Settings:
    """`settings` with the provider's secrets in place of the environment's."""
    found = fetch_secrets(settings, credential=credential)
    if not found:
        return settings
    # Validated like the environment's values (a comma-separated list becomes a list).
    return type(settings).model_validate({**settings.model_dump(), **found})
