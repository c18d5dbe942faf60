"""Uploading: validation (size, extension, content, names), storage and metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.config import get_settings
from app.modules.files.models import UploadedFile
from app.modules.files.validation import sanitize_filename
from tests.modules.analytics.factories import create_course
from tests.modules.files.samples import (
    ELF,
    EXE,
    PDF,
    PDF_BODY,
    PDF_TRAILER,
    PE_HEADER,
    PNG,
    TEXT,
    pdf_of_size,
)

UPLOAD = "/api/v1/files/upload"


def upload(client: Any, headers: dict[str, str], name: str, content: bytes, **data: Any) -> Any:
    return client.post(
        UPLOAD,
        headers=headers,
        files={"file": (name, content, "application/octet-stream")},
        data=data,
    )


def stored_files() -> list[Path]:
    root = get_settings().UPLOAD_DIR
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def row_count(db: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(UploadedFile)))


def test_upload_stores_file_and_metadata(client: Any, student: Any, auth_headers: Any) -> None:
    response = upload(client, auth_headers(student), "Week 1 notes.pdf", PDF)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["original_filename"] == "Week 1 notes.pdf"
    assert body["extension"] == "pdf"
    assert body["mime_type"] == "application/pdf"
    assert body["size_bytes"] == len(PDF)
    assert body["checksum_sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["storage_provider"] == "local"
    assert body["uploader_id"] == str(student.id)
    assert body["public_url"] is None
    [path] = stored_files()
    assert path.read_bytes() == PDF
    # The stored name is generated; the client's name never reaches the file system.
    assert path.name != "Week 1 notes.pdf" and path.suffix == ".pdf"


def test_text_files_are_accepted_and_typed(client: Any, student: Any, auth_headers: Any) -> None:
    response = upload(client, auth_headers(student), "notes.txt", TEXT)
    assert response.status_code == 201, response.text
    assert response.json()["mime_type"] == "text/plain"


def test_upload_requires_authentication(client: Any, db: Any) -> None:
    assert upload(client, {}, "a.pdf", PDF).status_code == 401
    assert row_count(db) == 0


def test_oversize_declared_length_is_refused_before_reading(
    client: Any, student: Any, auth_headers: Any, env: Callable[..., None], db: Any
) -> None:
    env(MAX_UPLOAD_MB="1")
    response = upload(client, auth_headers(student), "big.pdf", pdf_of_size(2 * 1024 * 1024))

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "file_too_large"
    assert row_count(db) == 0
    assert stored_files() == []


def test_oversize_stream_is_cut_off_and_nothing_is_kept(
    client: Any, student: Any, auth_headers: Any, env: Callable[..., None], db: Any
) -> None:
    env(MAX_UPLOAD_MB="1")
    # Just over the limit: within the multipart allowance, so only the streaming count
    # catches it.
    response = upload(client, auth_headers(student), "big.pdf", pdf_of_size(1024 * 1024 + 10))

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert row_count(db) == 0
    assert stored_files() == []


def test_file_at_the_limit_is_accepted(
    client: Any, student: Any, auth_headers: Any, env: Callable[..., None]
) -> None:
    env(MAX_UPLOAD_MB="1")
    response = upload(client, auth_headers(student), "edge.pdf", pdf_of_size(1024 * 1024))
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == 1024 * 1024


@pytest.mark.parametrize("name", ["tool.exe", "script.sh", "archive.tar.gz", "noextension"])
def test_disallowed_extensions_are_refused(
    client: Any, student: Any, auth_headers: Any, db: Any, name: str
) -> None:
    response = upload(client, auth_headers(student), name, PDF)
    assert response.status_code == 415
    assert response.json()["code"] == "extension_not_allowed"
    assert "pdf" in response.json()["allowed_extensions"]
    assert row_count(db) == 0


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("report.pdf", EXE, "executable_content"),
        ("photo.png", ELF, "executable_content"),
        ("notes.txt", b"#!/bin/sh\nrm -rf /\n", "executable_content"),
        ("report.pdf", PNG, "content_mismatch"),
        ("photo.jpg", PDF, "content_mismatch"),
        ("notes.txt", b"\x00\x01\x02binary", "content_mismatch"),
        # A PDF signature, then a Windows executable past the sniffed head, then a trailer.
        ("report.pdf", PDF_BODY + b"0" * 20_000 + PE_HEADER + PDF_TRAILER, "executable_content"),
        ("report.pdf", PDF_BODY + PE_HEADER + PDF_TRAILER, "executable_content"),
        ("photo.png", PNG + b"\x00" * 100_000 + PE_HEADER, "executable_content"),
        # A PDF signature on something that does not end as a PDF.
        ("report.pdf", PDF_BODY + b"0" * 5000, "content_mismatch"),
        ("report.pdf", PDF + b"0" * 2000, "content_mismatch"),
    ],
)
def test_spoofed_content_is_refused(
    client: Any, student: Any, auth_headers: Any, db: Any, name: str, content: bytes, code: str
) -> None:
    response = upload(client, auth_headers(student), name, content)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == code
    assert row_count(db) == 0
    assert stored_files() == []


def test_empty_file_is_refused(client: Any, student: Any, auth_headers: Any) -> None:
    response = upload(client, auth_headers(student), "empty.pdf", b"")
    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("/abs/path/to/x.pdf", "x.pdf"),
        ("..", "file"),
        ("a\x00b\r\n.pdf", "ab.pdf"),
        ('quote"semi;colon.pdf', "quote_semi_colon.pdf"),
        ("résumé 数学.pdf", "résumé 数学.pdf"),
    ],
)
def test_filenames_are_sanitized(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_path_traversal_name_stays_inside_storage(
    client: Any, student: Any, auth_headers: Any
) -> None:
    response = upload(client, auth_headers(student), "../../../../tmp/evil.pdf", PDF)

    assert response.status_code == 201, response.text
    assert response.json()["original_filename"] == "evil.pdf"
    root = get_settings().UPLOAD_DIR.resolve()
    [path] = stored_files()
    assert path.resolve().is_relative_to(root)


@pytest.mark.parametrize("folder", ["../escape", "a/b", "UPPER SPACE", "x" * 65, "."])
def test_invalid_folders_are_refused(
    client: Any, student: Any, auth_headers: Any, db: Any, folder: str
) -> None:
    response = upload(client, auth_headers(student), "a.pdf", PDF, folder=folder)
    assert response.status_code in (400, 422)
    assert row_count(db) == 0


def test_folder_is_used_in_the_storage_key(client: Any, student: Any, auth_headers: Any) -> None:
    response = upload(client, auth_headers(student), "a.pdf", PDF, folder="Homework-1")
    assert response.status_code == 201
    assert response.json()["folder"] == "homework-1"
    [path] = stored_files()
    assert path.parent.name == "homework-1"


def test_course_materials_need_course_ownership(
    client: Any, instructor: Any, make_user: Any, student: Any, auth_headers: Any, db: Any
) -> None:
    course = create_course(instructor)
    other = make_user(role="instructor")

    assert (
        upload(client, auth_headers(other), "a.pdf", PDF, course_id=str(course.id)).status_code
        == 403
    )
    assert (
        upload(client, auth_headers(student), "a.pdf", PDF, course_id=str(course.id)).status_code
        == 403
    )
    owned = upload(client, auth_headers(instructor), "a.pdf", PDF, course_id=str(course.id))
    assert owned.status_code == 201
    assert owned.json()["course_id"] == str(course.id)
    assert row_count(db) == 1


def test_students_cannot_publish_public_files(
    client: Any, student: Any, auth_headers: Any, db: Any
) -> None:
    response = upload(client, auth_headers(student), "a.pdf", PDF, is_public="true")
    assert response.status_code == 403
    assert row_count(db) == 0


def test_my_files_is_paginated_filtered_and_private(
    client: Any, student: Any, make_user: Any, auth_headers: Any
) -> None:
    headers = auth_headers(student)
    for index in range(3):
        upload(client, headers, f"doc{index}.pdf", PDF)
    upload(client, headers, "pic.png", PNG)
    other = make_user()
    upload(client, auth_headers(other), "theirs.pdf", PDF)

    page = client.get("/api/v1/files/my-files", headers=headers, params={"page_size": 2}).json()
    assert page["total"] == 4 and page["pages"] == 2 and len(page["items"]) == 2
    images = client.get("/api/v1/files/my-files", headers=headers, params={"mime_type": "image/"})
    assert [item["original_filename"] for item in images.json()["items"]] == ["pic.png"]
    pdfs = client.get("/api/v1/files/my-files", headers=headers, params={"extension": "pdf"})
    assert pdfs.json()["total"] == 3
    names = {item["original_filename"] for item in pdfs.json()["items"]}
    assert "theirs.pdf" not in names


@pytest.mark.parametrize("chunk_size", [1, 3, 64, 65, 4096])
def test_an_embedded_executable_is_found_across_chunk_boundaries(chunk_size: int) -> None:
    from app.core.errors import UnsupportedMediaType
    from app.modules.files.validation import ContentInspector

    content = PDF_BODY + b"MZ" + b"0" * 300 + PE_HEADER + PDF_TRAILER
    inspector = ContentInspector("pdf")
    with pytest.raises(UnsupportedMediaType):
        for start in range(0, len(content), chunk_size):
            inspector.feed(content[start : start + chunk_size])


def test_mz_without_a_pe_header_is_ordinary_data(
    client: Any, student: Any, auth_headers: Any
) -> None:
    """ "MZ" alone occurs in compressed streams and images by chance: not a reason to refuse."""
    content = PDF_BODY + (b"MZ" + bytes(range(256))) * 50 + b"MZ" + PDF_TRAILER
    assert upload(client, auth_headers(student), "fine.pdf", content).status_code == 201
