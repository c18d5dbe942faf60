"""The S3 and Azure backends against real servers speaking their protocols: moto's S3
server and Azurite. The API is driven end to end; the object stores are checked with their
own SDKs, and signed URLs are fetched over HTTP."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from app.core.storage import get_storage
from tests.modules.files.samples import PDF, pdf_of_size


def upload(
    client: Any, headers: dict[str, str], name: str = "notes.pdf", content: bytes = PDF
) -> Any:
    return client.post("/api/v1/files/upload", headers=headers, files={"file": (name, content)})


def s3_client(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def s3_keys(moto_endpoint: str, bucket: str) -> list[str]:
    listing = s3_client(moto_endpoint).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_s3_upload_download_redirect_and_delete(
    client: Any, student: Any, auth_headers: Any, s3_storage: str, moto_endpoint: str
) -> None:
    headers = auth_headers(student)
    response = upload(client, headers, "Lecture notes.pdf")
    assert response.status_code == 201, response.text
    meta = response.json()
    assert meta["storage_provider"] == "s3"
    [key] = s3_keys(moto_endpoint, s3_storage)
    assert key.startswith("uploads/files/") and key.endswith(".pdf")
    stored = s3_client(moto_endpoint).get_object(Bucket=s3_storage, Key=key)
    assert stored["Body"].read() == PDF
    assert stored["ContentType"] == "application/pdf"

    download = client.get(
        f"/api/v1/files/download/{meta['id']}", headers=headers, follow_redirects=False
    )
    assert download.status_code == 307
    presigned = download.headers["location"]
    assert presigned.startswith(moto_endpoint) and "X-Amz-Signature=" in presigned
    fetched = httpx.get(presigned)
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert "Lecture%20notes.pdf" in fetched.headers["content-disposition"]

    assert client.delete(f"/api/v1/files/{meta['id']}", headers=headers).status_code == 204
    assert s3_keys(moto_endpoint, s3_storage) == []


def test_s3_multipart_stream_over_the_limit_leaves_nothing(
    client: Any,
    student: Any,
    auth_headers: Any,
    s3_storage: str,
    moto_endpoint: str,
    env: Callable[..., None],
) -> None:
    env(MAX_UPLOAD_MB="9")  # above the 8 MiB multipart threshold: parts are sent first
    response = upload(client, auth_headers(student), "big.pdf", pdf_of_size(9 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert s3_keys(moto_endpoint, s3_storage) == []
    uploads = s3_client(moto_endpoint).list_multipart_uploads(Bucket=s3_storage)
    assert uploads.get("Uploads", []) == []

    # At the limit, every byte arrives (the sniffed head and the rest, in full parts).
    content = pdf_of_size(9 * 1024 * 1024)
    accepted = upload(client, auth_headers(student), "edge.pdf", content)
    assert accepted.status_code == 201, accepted.text
    [key] = s3_keys(moto_endpoint, s3_storage)
    assert s3_client(moto_endpoint).get_object(Bucket=s3_storage, Key=key)["Body"].read() == content


def test_s3_backend_streams_large_objects_in_parts(s3_storage: str, moto_endpoint: str) -> None:
    storage = get_storage("uploads")
    content = b"x" * (17 * 1024 * 1024)
    storage.save("big/object.bin", io.BytesIO(content), content_type="application/octet-stream")

    assert storage.exists("big/object.bin")
    assert sum(len(chunk) for chunk in storage.open("big/object.bin")) == len(content)
    storage.delete("big/object.bin")
    assert not storage.exists("big/object.bin")


def test_azure_upload_download_redirect_and_delete(
    client: Any, student: Any, auth_headers: Any, azure_storage: Any
) -> None:
    headers = auth_headers(student)
    response = upload(client, headers, "Lecture notes.pdf")
    assert response.status_code == 201, response.text
    meta = response.json()
    assert meta["storage_provider"] == "azure"
    [blob] = list(azure_storage.list_blobs())
    assert blob.name.startswith("uploads/files/")
    assert blob.content_settings.content_type == "application/pdf"
    assert azure_storage.download_blob(blob.name).readall() == PDF

    download = client.get(
        f"/api/v1/files/download/{meta['id']}", headers=headers, follow_redirects=False
    )
    assert download.status_code == 307
    sas_url = download.headers["location"]
    assert "sig=" in sas_url and "sp=r" in sas_url
    fetched = httpx.get(sas_url)
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert "Lecture%20notes.pdf" in fetched.headers["content-disposition"]

    assert client.delete(f"/api/v1/files/{meta['id']}", headers=headers).status_code == 204
    assert list(azure_storage.list_blobs()) == []


def test_azure_sas_url_is_bound_to_its_blob(azure_storage: Any) -> None:
    storage = get_storage("uploads")
    storage.save("a/one.pdf", io.BytesIO(PDF), content_type="application/pdf")
    storage.save("a/two.pdf", io.BytesIO(b"%PDF-two"), content_type="application/pdf")
    url = storage.create_download_url(
        "a/one.pdf", expires_seconds=60, filename="one.pdf", content_type="application/pdf"
    )
    assert httpx.get(url).content == PDF
    # The same signature presented for another blob is refused by the service.
    assert httpx.get(url.replace("one.pdf", "two.pdf")).status_code == 403


def test_azure_stream_over_the_limit_leaves_nothing(
    client: Any,
    student: Any,
    auth_headers: Any,
    azure_storage: Any,
    env: Callable[..., None],
) -> None:
    env(MAX_UPLOAD_MB="5")  # over 4 MiB: blocks are staged before the limit is hit
    response = upload(client, auth_headers(student), "big.pdf", pdf_of_size(5 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert list(azure_storage.list_blobs()) == []


@pytest.mark.parametrize("provider", ["s3", "azure"])
def test_missing_object_reports_not_found(provider: str, request: pytest.FixtureRequest) -> None:
    from app.core.storage import ObjectNotFound

    request.getfixturevalue("s3_storage" if provider == "s3" else "azure_storage")
    storage = get_storage("uploads")
    assert not storage.exists("nope/missing.pdf")
    with pytest.raises(ObjectNotFound):
        storage.read_bytes("nope/missing.pdf")
