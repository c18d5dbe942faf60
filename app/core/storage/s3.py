"""Amazon S3 (or any S3-compatible service) storage; downloads use presigned GET URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from app.core.storage.base import CHUNK_SIZE, ObjectNotFound, StorageBackend

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Multipart upload in 8 MiB parts: memory stays bounded whatever the file size.
_TRANSFER = TransferConfig(multipart_threshold=8 * CHUNK_SIZE, multipart_chunksize=8 * CHUNK_SIZE)


def _content_disposition(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"


class S3Storage(StorageBackend):
    provider = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        region: str,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client: S3Client = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", retries={"mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}"

    def save(self, key: str, stream: BinaryIO, *, content_type: str) -> None:
        self.client.upload_fileobj(
            stream,
            self.bucket,
            self._key(key),
            ExtraArgs={"ContentType": content_type},
            Config=_TRANSFER,
        )

    def open(self, key: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchKey", "404"}:
                raise ObjectNotFound(key) from exc
            raise
        body: Any = response["Body"]
        return iter(body.iter_chunks(CHUNK_SIZE))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                return False
            raise
        return True

    def build_file_url(self, key: str) -> str:
        endpoint = self.client.meta.endpoint_url.rstrip("/")
        return f"{endpoint}/{self.bucket}/{quote(self._key(key))}"

    def create_download_url(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": _content_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_seconds,
        )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
