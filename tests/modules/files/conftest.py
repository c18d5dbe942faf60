"""Object-storage servers for the storage tests: moto's S3 server in a thread, and Azurite
(npm `azurite`) in a subprocess when it is installed (see the README's test section)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's fixed, publicly documented development key (not a secret).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(moto_endpoint: str, env: Callable[..., None]) -> Iterator[str]:
    """Switch the app to S3 on the moto server with a fresh bucket; yields the bucket."""
    import boto3

    bucket = f"lms-test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    env(
        FILE_STORAGE_PROVIDER="s3",
        S3_BUCKET_NAME=bucket,
        S3_ENDPOINT_URL=moto_endpoint,
        S3_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    yield bucket


def _azurite_binary() -> str | None:
    configured = os.environ.get("AZURITE_BIN")
    if configured:
        return configured
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def azurite_blob_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _azurite_binary()
    if binary is None:
        pytest.skip("Azurite is not installed (make node-tools, or set AZURITE_BIN)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(workdir),
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Azurite did not start")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def azure_storage(azurite_blob_endpoint: str, env: Callable[..., None]) -> Iterator[Any]:
    """Switch the app to Azure Blob on Azurite with a fresh container; yields its client."""
    from azure.storage.blob import BlobServiceClient

    connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={azurite_blob_endpoint};"
    )
    container = f"lms-test-{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(connection_string)
    client = service.create_container(container)
    env(
        FILE_STORAGE_PROVIDER="azure",
        AZURE_STORAGE_CONNECTION_STRING=connection_string,
        AZURE_STORAGE_CONTAINER_NAME=container,
    )
    yield client


@pytest.fixture(autouse=True)
def empty_upload_dir() -> None:
    """Each test starts with an empty local storage folder (tables are emptied too)."""
    from app.core.config import get_settings

    shutil.rmtree(get_settings().UPLOAD_DIR, ignore_errors=True)
