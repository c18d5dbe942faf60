"""A malformed roster upload is refused in the request, before anything is written; only
administrators may import or read imports."""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from app.modules.rostering.models import RosterImport
from app.modules.users.models import User
from tests.modules.rostering.conftest import Upload
from tests.modules.rostering.samples import (
    HEADERS,
    build_zip,
    csv_text,
    manifest,
    roster_zip,
    sample_roster,
    user,
)


def _nothing_written(db: Any) -> None:
    assert db.scalar(select(func.count()).select_from(RosterImport)) == 0
    assert db.scalar(select(func.count()).select_from(User)) == 1  # the administrator


def _files(*, compression: int = zipfile.ZIP_DEFLATED, **overrides: str | bytes | None) -> bytes:
    data = sample_roster()
    files: dict[str, str | bytes] = {"manifest.csv": manifest({n: "bulk" for n in data})}
    for name, rows in data.items():
        files[f"{name}.csv"] = csv_text(HEADERS[name], rows)
    for name, content in overrides.items():
        key = name.replace("_", ".")
        if content is None:
            files.pop(key)
        else:
            files[key] = content
    return build_zip(files, compression=compression)


def test_not_a_zip(upload: Upload, db: Any) -> None:
    response = upload(b"sourcedId,status\n1,active\n")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_a_zip"
    _nothing_written(db)


def test_missing_manifest(upload: Upload, db: Any) -> None:
    response = upload(_files(manifest_csv=None))
    assert response.status_code == 422
    assert response.json()["code"] == "manifest_missing"
    _nothing_written(db)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("name,value\noneroster.version,1.2\n", "invalid_manifest"),
        ("propertyName,value\noneroster.version,1.1\nfile.users,bulk\n", "unsupported_version"),
        (
            "propertyName,value\noneroster.version,1.2\nfile.users,bulk\nfile.classes,bulk\n",
            "invalid_manifest",
        ),
        (
            "propertyName,value\noneroster.version,1.2\nfile.users,full\n"
            "file.classes,bulk\nfile.enrollments,bulk\n",
            "invalid_manifest",
        ),
    ],
    ids=["wrong-header", "version-1.1", "enrollments-absent", "unknown-mode"],
)
def test_unusable_manifest(upload: Upload, db: Any, content: str, code: str) -> None:
    response = upload(_files(manifest_csv=content))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    _nothing_written(db)


def test_a_declared_file_missing_from_the_zip(upload: Upload, db: Any) -> None:
    response = upload(_files(enrollments_csv=None))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "enrollments.csv", "message": "declared bulk but not in the zip"}
    ]
    _nothing_written(db)


def test_wrong_headers(upload: Upload, db: Any) -> None:
    response = upload(
        _files(users_csv="id,status,givenName\n1,active,Ann\n", classes_csv="sourcedId,title\n")
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_headers"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert "sourcedId" in fields["users.csv"] and "familyName" in fields["users.csv"]
    assert "courseSourcedId" in fields["classes.csv"]
    _nothing_written(db)


def test_repeated_header(upload: Upload, db: Any) -> None:
    header = ",".join(HEADERS["enrollments"] + ["role"])
    response = upload(_files(enrollments_csv=header + "\n"))
    assert response.status_code == 422
    assert "repeated columns: role" in response.json()["errors"][0]["message"]
    _nothing_written(db)


def test_zip_bomb_by_ratio(upload: Upload, db: Any) -> None:
    # 20 MB of one repeated byte compresses about a thousand times.
    response = upload(_files(users_csv=",".join(HEADERS["users"]) + "\n" + " " * 20_000_000))
    assert response.status_code == 413
    assert response.json()["code"] == "zip_bomb"
    _nothing_written(db)


def test_zip_bomb_by_total_size(upload: Upload, db: Any, env: Any) -> None:
    env(ROSTER_MAX_UNCOMPRESSED_MB="1", ROSTER_MAX_COMPRESSION_RATIO="100000")
    response = upload(_files(notes_txt=b"x" * 2_000_000))
    assert response.status_code == 413
    assert response.json()["code"] == "zip_bomb"
    _nothing_written(db)


def test_upload_over_the_size_limit(upload: Upload, db: Any, env: Any) -> None:
    env(ROSTER_MAX_UPLOAD_MB="1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("manifest.csv", manifest({"users": "bulk"}))
        archive.writestr("padding.bin", bytes(range(256)) * 8000)
    response = upload(buffer.getvalue())
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    _nothing_written(db)


def test_an_encrypted_member_is_refused(upload: Upload, db: Any) -> None:
    content = bytearray(roster_zip(sample_roster()))
    # Set the "encrypted" flag bit in every central directory entry.
    position = 0
    while (position := content.find(b"PK\x01\x02", position)) != -1:
        content[position + 8] |= 0x1
        position += 4
    response = upload(bytes(content))
    assert response.status_code == 422
    assert response.json()["code"] == "encrypted_member"
    _nothing_written(db)


def _member_data(content: bytes, name: str) -> int:
    """Where the (compressed) data of member `name` starts in the zip `content`."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        offset = archive.getinfo(name).header_offset
    name_length, extra_length = struct.unpack("<HH", content[offset + 26 : offset + 30])
    return offset + 30 + name_length + extra_length


def _damaged(how: str) -> bytes:
    if how == "bad-crc":
        # A stored users.csv well past the first read's 8 KiB, one byte of its last row
        # changed: only reading the member to its end finds the CRC mismatch.
        users = [user(f"s-{n}", "Many", "Students", f"s{n}@school.example") for n in range(200)]
        content = bytearray(
            _files(compression=zipfile.ZIP_STORED, users_csv=csv_text(HEADERS["users"], users))
        )
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            size = archive.getinfo("users.csv").compress_size
        assert size > 16 * 1024
        content[_member_data(bytes(content), "users.csv") + size - 10] ^= 0x01
        return bytes(content)
    content = bytearray(_files())
    if how == "corrupt-deflate":
        # A deflate block of the reserved type 3: "invalid block type".
        content[_member_data(bytes(content), "users.csv")] = 0xFF
        return bytes(content)
    # An unsupported compression method (93, Zstandard), in the local and central headers.
    local = _member_data(bytes(content), "users.csv") - len("users.csv") - 30
    content[local + 8 : local + 10] = struct.pack("<H", 93)
    position = 0
    while (position := content.find(b"PK\x01\x02", position)) != -1:
        if content[position + 46 : position + 46 + len("users.csv")] == b"users.csv":
            content[position + 10 : position + 12] = struct.pack("<H", 93)
        position += 4
    return bytes(content)


@pytest.mark.parametrize("how", ["corrupt-deflate", "compression-method-93", "bad-crc"])
def test_a_damaged_member_is_refused_before_anything_is_written(
    upload: Upload, db: Any, how: str
) -> None:
    response = upload(_damaged(how))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "not_a_zip"
    assert "users.csv" in body["detail"] and "damaged" in body["detail"]
    _nothing_written(db)


@pytest.mark.parametrize("who", ["anonymous", "student", "instructor"])
def test_only_administrators_import(
    client: Any, make_user: Any, auth_headers: Any, db: Any, who: str
) -> None:
    headers = {} if who == "anonymous" else auth_headers(make_user(role=who))
    response = client.post(
        "/api/v1/rostering/oneroster",
        files={"file": ("roster.zip", roster_zip(sample_roster()), "application/zip")},
        headers=headers,
    )
    assert response.status_code == (401 if who == "anonymous" else 403)
    for path in ("/api/v1/rostering/imports", f"/api/v1/rostering/imports/{'0' * 32}"):
        assert client.get(path, headers=headers).status_code == response.status_code
    assert db.scalar(select(func.count()).select_from(RosterImport)) == 0


def test_an_unknown_import_is_404(client: Any, admin: Any, auth_headers: Any) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (
        f"/api/v1/rostering/imports/{missing}",
        f"/api/v1/rostering/imports/{missing}/errors",
    ):
        response = client.get(path, headers=auth_headers(admin))
        assert response.status_code == 404
        assert response.json()["code"] == "roster_import_not_found"
