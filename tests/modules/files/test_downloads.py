"""Who may read a file, how it is served, and signed links."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.core.storage import local as local_storage
from tests.modules.analytics.factories import create_course, create_enrollment
from tests.modules.files.samples import PDF, PNG


def upload(
    client: Any, headers: dict[str, str], name: str = "notes.pdf", content: bytes = PDF, **data: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/files/upload", headers=headers, files={"file": (name, content)}, data=data
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_owner_downloads_with_type_and_disposition(
    client: Any, student: Any, auth_headers: Any
) -> None:
    meta = upload(client, auth_headers(student), "Résumé final.pdf")

    response = client.get(f"/api/v1/files/download/{meta['id']}", headers=auth_headers(student))

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "R%C3%A9sum%C3%A9%20final.pdf" in disposition
    assert response.headers["x-content-type-options"] == "nosniff"


def test_other_users_cannot_see_download_or_delete(
    client: Any, student: Any, make_user: Any, auth_headers: Any
) -> None:
    meta = upload(client, auth_headers(student))
    intruder = auth_headers(make_user())
    file_id = meta["id"]

    assert client.get(f"/api/v1/files/{file_id}", headers=intruder).status_code == 404
    assert client.get(f"/api/v1/files/download/{file_id}", headers=intruder).status_code == 404
    assert client.get(f"/api/v1/files/{file_id}/download-url", headers=intruder).status_code == 404
    assert client.delete(f"/api/v1/files/{file_id}", headers=intruder).status_code == 404
    # Still there for its owner.
    assert (
        client.get(f"/api/v1/files/download/{file_id}", headers=auth_headers(student)).status_code
        == 200
    )


def test_anonymous_download_of_private_file_needs_sign_in(
    client: Any, student: Any, auth_headers: Any
) -> None:
    meta = upload(client, auth_headers(student))
    assert client.get(f"/api/v1/files/download/{meta['id']}").status_code == 401


def test_admin_reads_and_deletes_any_file(
    client: Any, student: Any, admin: Any, auth_headers: Any
) -> None:
    meta = upload(client, auth_headers(student))
    assert (
        client.get(f"/api/v1/files/download/{meta['id']}", headers=auth_headers(admin)).status_code
        == 200
    )
    assert (
        client.delete(f"/api/v1/files/{meta['id']}", headers=auth_headers(admin)).status_code == 204
    )
    assert (
        client.get(f"/api/v1/files/{meta['id']}", headers=auth_headers(student)).status_code == 404
    )


def test_course_material_is_readable_by_enrolled_students_only(
    client: Any, instructor: Any, student: Any, make_user: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    create_enrollment(student, course)
    dropped = make_user()
    create_enrollment(dropped, course, status="dropped")
    outsider = make_user()
    meta = upload(client, auth_headers(instructor), course_id=str(course.id))
    url = f"/api/v1/files/download/{meta['id']}"

    assert client.get(url, headers=auth_headers(student)).status_code == 200
    assert client.get(url, headers=auth_headers(outsider)).status_code == 404
    assert client.get(url, headers=auth_headers(dropped)).status_code == 404
    # Enrolled students read it but may not delete the instructor's file.
    assert (
        client.delete(f"/api/v1/files/{meta['id']}", headers=auth_headers(student)).status_code
        == 404
    )


def test_public_files_are_open_to_everyone(client: Any, instructor: Any, auth_headers: Any) -> None:
    meta = upload(client, auth_headers(instructor), "banner.png", PNG, is_public="true")

    assert client.get(f"/api/v1/files/download/{meta['id']}").content == PNG
    assert meta["public_url"]
    public = client.get(path_of(meta["public_url"]))
    assert public.status_code == 200 and public.content == PNG


def test_public_route_does_not_serve_private_files(
    client: Any, student: Any, auth_headers: Any
) -> None:
    meta = upload(client, auth_headers(student))
    key = f"files/{meta['id'].replace('-', '')}.pdf"
    assert client.get(f"/api/v1/files/public/{key}").status_code == 404
    # Encoded dots: plain "../" would be resolved by the client and never reach the route.
    escape = client.get("/api/v1/files/public/%2e%2e/%2e%2e/secret_key")
    assert escape.status_code == 404
    assert escape.json()["code"] == "file_not_found"


@pytest.mark.parametrize("key", ["../secret_key", "a/../../secret_key", "/etc/passwd", "", "."])
def test_local_storage_refuses_keys_outside_its_root(tmp_path: Any, key: str) -> None:
    storage = local_storage.LocalStorage(
        tmp_path / "uploads", area="uploads", public_base_url="http://t", api_prefix="/api/v1"
    )
    with pytest.raises(local_storage.StorageError):
        storage.path_for(key)


def test_delete_removes_row_and_object(client: Any, student: Any, auth_headers: Any) -> None:
    from app.core.config import get_settings

    headers = auth_headers(student)
    meta = upload(client, headers)

    assert client.delete(f"/api/v1/files/{meta['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/files/{meta['id']}", headers=headers).status_code == 404
    assert [p for p in get_settings().UPLOAD_DIR.rglob("*") if p.is_file()] == []


def test_signed_link_works_without_credentials(
    client: Any, student: Any, auth_headers: Any
) -> None:
    meta = upload(client, auth_headers(student), "shared.pdf")
    link = client.get(f"/api/v1/files/{meta['id']}/download-url", headers=auth_headers(student))
    assert link.status_code == 200

    response = client.get(path_of(link.json()["url"]))

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="shared.pdf"' in response.headers["content-disposition"]


def test_signed_link_expires(
    client: Any, student: Any, auth_headers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = upload(client, auth_headers(student))
    url = client.get(
        f"/api/v1/files/{meta['id']}/download-url", headers=auth_headers(student)
    ).json()["url"]
    assert client.get(path_of(url)).status_code == 200

    later = time.time() + 901  # FILE_DOWNLOAD_URL_EXPIRE_SECONDS defaults to 900
    monkeypatch.setattr(local_storage.time, "time", lambda: later)

    response = client.get(path_of(url))
    assert response.status_code == 410
    assert response.json()["code"] == "link_expired"


@pytest.mark.parametrize("mutate", ["payload", "signature"])
def test_tampered_signed_link_is_refused(
    client: Any, student: Any, auth_headers: Any, mutate: str
) -> None:
    import base64
    import json

    meta = upload(client, auth_headers(student))
    url = client.get(
        f"/api/v1/files/{meta['id']}/download-url", headers=auth_headers(student)
    ).json()["url"]
    token = urlsplit(url).path.rsplit("/", 1)[-1]
    payload, signature = token.split(".")
    if mutate == "payload":
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        data["e"] += 10**6  # try to extend the expiry
        payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    else:
        signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")

    response = client.get(f"/api/v1/files/signed/{payload}.{signature}")
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_link"


@pytest.mark.parametrize("token", ["abc.%C3%A9", "%C3%A9.%C3%A9", "abc.%E2%82%AC%F0%9F%98%80"])
def test_a_non_ascii_signature_is_an_invalid_link(client: Any, token: str) -> None:
    response = client.get(f"/api/v1/files/signed/{token}")
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_link"
