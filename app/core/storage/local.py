"""Local-folder storage with HMAC-signed, expiring download links.

A signed link carries the key, the download filename and content type and its expiry,
all covered by an HMAC-SHA256 under a key derived from the installation's signing key,
so a holder can neither extend it nor point it at another object.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from app.core.security import purpose_digest, tokens_equal
from app.core.storage.base import CHUNK_SIZE, ObjectNotFound, StorageBackend, StorageError

SIGNED_DOWNLOAD_ROUTE = "/files/signed/"


def _signature(payload: str) -> str:
    # A purpose-specific key: a signed link can never double as a token of another kind.
    return _b64(purpose_digest("lms:local-download-url", payload.encode()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SignedDownload:
    area: str
    key: str
    filename: str
    content_type: str
    expires_at: int


class InvalidSignedUrl(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def sign_download(download: SignedDownload) -> str:
    payload = _b64(
        json.dumps(
            {
                "a": download.area,
                "k": download.key,
                "n": download.filename,
                "t": download.content_type,
                "e": download.expires_at,
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_signature(payload)}"


def verify_download_token(token: str, *, now: float | None = None) -> SignedDownload:
    """The download a token grants; raises `InvalidSignedUrl` if forged or expired."""
    payload, _, signature = token.partition(".")
    if not signature or not tokens_equal(signature, _signature(payload)):
        raise InvalidSignedUrl("signature")
    try:
        data = json.loads(_unb64(payload))
        download = SignedDownload(
            area=str(data["a"]),
            key=str(data["k"]),
            filename=str(data["n"]),
            content_type=str(data["t"]),
            expires_at=int(data["e"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidSignedUrl("payload") from exc
    if download.expires_at < (time.time() if now is None else now):
        raise InvalidSignedUrl("expired")
    return download


class LocalStorage(StorageBackend):
    provider = "local"

    def __init__(self, root: Path, *, area: str, public_base_url: str, api_prefix: str) -> None:
        self.root = root.resolve()
        self.area = area
        self.public_base_url = public_base_url.rstrip("/")
        self.api_prefix = api_prefix

    def path_for(self, key: str) -> Path:
        """The file behind `key`; refuses keys that would leave the storage root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise StorageError("storage key escapes the storage root")
        return path

    def save(self, key: str, stream: BinaryIO, *, content_type: str) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            with partial.open("wb") as target:
                shutil.copyfileobj(stream, target, CHUNK_SIZE)
            # The object appears whole or not at all.
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    def open(self, key: str) -> Iterator[bytes]:
        path = self.path_for(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        return _iter_file(handle)

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def build_file_url(self, key: str) -> str:
        return f"{self.public_base_url}{self.api_prefix}/files/public/{quote(key)}"

    def create_download_url(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str:
        token = sign_download(
            SignedDownload(
                area=self.area,
                key=key,
                filename=filename,
                content_type=content_type,
                expires_at=int(time.time()) + expires_seconds,
            )
        )
        return f"{self.public_base_url}{self.api_prefix}{SIGNED_DOWNLOAD_ROUTE}{token}"


def _iter_file(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk
