"""Azure Blob storage; downloads use read-only SAS URLs.

With an account key (in the connection string or `AZURE_STORAGE_ACCOUNT_KEY`) the SAS is
signed with it; with a token credential (managed identity, `DefaultAzureCredential`) a user
delegation key is requested instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import quote

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ContentSettings,
    generate_blob_sas,
)

from app.core.storage.base import ObjectNotFound, StorageBackend, StorageError


class AzureBlobStorage(StorageBackend):
    provider = "azure"

    def __init__(
        self,
        *,
        container: str,
        prefix: str,
        connection_string: str | None = None,
        account_url: str | None = None,
        account_name: str | None = None,
        account_key: str | None = None,
        container_url: str | None = None,
    ) -> None:
        self.prefix = prefix
        service: BlobServiceClient
        if connection_string:
            service = BlobServiceClient.from_connection_string(connection_string)
        elif account_url:
            credential: Any
            if account_key:
                credential = {"account_name": account_name, "account_key": account_key}
            else:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            service = BlobServiceClient(account_url, credential=credential)
        else:
            raise StorageError(
                "Azure storage needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL"
            )
        self.service = service
        self.container: ContainerClient = (
            ContainerClient.from_container_url(container_url, credential=service.credential)
            if container_url
            else service.get_container_client(container)
        )
        # The shared-key credential carries the account key; absent for token credentials.
        self.account_key: str | None = getattr(service.credential, "account_key", None)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}"

    def save(self, key: str, stream: BinaryIO, *, content_type: str) -> None:
        # A stream of unknown length is uploaded block by block (4 MiB each by default).
        self.container.upload_blob(
            self._name(key),
            stream,
            overwrite=True,
            content_settings=ContentSettings(content_type=content_type),
            max_concurrency=1,
        )

    def open(self, key: str) -> Iterator[bytes]:
        try:
            downloader = self.container.download_blob(self._name(key))
        except ResourceNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        return iter(downloader.chunks())

    def delete(self, key: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self.container.delete_blob(self._name(key), delete_snapshots="include")

    def exists(self, key: str) -> bool:
        return bool(self.container.get_blob_client(self._name(key)).exists())

    def build_file_url(self, key: str) -> str:
        return f"{self.container.url.split('?', 1)[0]}/{quote(self._name(key))}"

    def create_download_url(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str:
        now = datetime.now(UTC)
        expiry = now + timedelta(seconds=expires_seconds)
        signing: dict[str, Any]
        if self.account_key:
            signing = {"account_key": self.account_key}
        else:
            signing = {
                "user_delegation_key": self.service.get_user_delegation_key(
                    key_start_time=now - timedelta(minutes=5), key_expiry_time=expiry
                )
            }
        sas = generate_blob_sas(
            account_name=self.container.account_name or "",
            container_name=self.container.container_name,
            blob_name=self._name(key),
            permission=BlobSasPermissions(read=True),
            expiry=expiry,
            # Allow for clock skew between this host and the storage service.
            start=now - timedelta(minutes=5),
            content_disposition=f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            content_type=content_type,
            **signing,
        )
        return f"{self.build_file_url(key)}?{sas}"
