"""File storage behind one interface, chosen by `FILE_STORAGE_PROVIDER`.

Two areas share a backend: `uploads` (user files) and `certificates` (generated PDFs). On
the local provider each area has its own folder (`UPLOAD_DIR`, `CERTIFICATES_DIR`); on S3
and Azure each is a key prefix in the one bucket or container.
"""

from __future__ import annotations

import threading
from typing import Literal

from app.core.config import Settings, get_settings
from app.core.storage.base import ObjectNotFound, StorageBackend, StorageError

Area = Literal["uploads", "certificates"]

__all__ = ["Area", "ObjectNotFound", "StorageBackend", "StorageError", "get_storage"]

_lock = threading.Lock()
_built: dict[str, tuple[Settings, StorageBackend]] = {}


def build_storage(settings: Settings, area: Area) -> StorageBackend:
    if settings.FILE_STORAGE_PROVIDER == "s3":
        from app.core.storage.s3 import S3Storage

        if not settings.S3_BUCKET_NAME:
            raise StorageError("FILE_STORAGE_PROVIDER=s3 needs S3_BUCKET_NAME")
        return S3Storage(
            bucket=settings.S3_BUCKET_NAME,
            prefix=area,
            region=settings.S3_REGION,
            endpoint_url=settings.S3_ENDPOINT_URL,
            access_key_id=settings.AWS_ACCESS_KEY_ID,
            secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        )
    if settings.FILE_STORAGE_PROVIDER == "azure":
        from app.core.storage.azure import AzureBlobStorage

        return AzureBlobStorage(
            container=settings.AZURE_STORAGE_CONTAINER_NAME,
            prefix=area,
            connection_string=settings.AZURE_STORAGE_CONNECTION_STRING,
            account_url=settings.AZURE_STORAGE_ACCOUNT_URL,
            account_name=settings.AZURE_STORAGE_ACCOUNT_NAME,
            account_key=settings.AZURE_STORAGE_ACCOUNT_KEY,
            container_url=settings.AZURE_STORAGE_CONTAINER_URL,
        )
    from app.core.storage.local import LocalStorage

    root = settings.UPLOAD_DIR if area == "uploads" else settings.CERTIFICATES_DIR
    return LocalStorage(
        root,
        area=area,
        public_base_url=settings.PUBLIC_BASE_URL,
        api_prefix=settings.API_V1_PREFIX,
    )


def get_storage(area: Area = "uploads") -> StorageBackend:
    """The backend for `area` under the current settings (built once, then reused: the
    S3/Azure clients hold connection pools)."""
    settings = get_settings()
    with _lock:
        cached = _built.get(area)
        # Rebuilt whenever the settings object changes (tests switch providers).
        if cached is None or cached[0] is not settings:
            cached = (settings, build_storage(settings, area))
            _built[area] = cached
        return cached[1]
