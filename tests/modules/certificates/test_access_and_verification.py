"""The PDF's contents, who may download or revoke, and public verification."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from app.core.database import session_scope
from app.modules.certificates.models import Certificate
from tests.modules.analytics.factories import create_course, create_enrollment


def issue(client: Any, enrollment: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/certificates/enrollments/{enrollment.id}/generate", headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(
    "name",
    ["محمد عبد الله", "José Ñúñez-Çelik", "王小明", "Ольга Петрова", "Zoë O'Brien"],
)
def test_pdf_contains_the_certificate_text(
    client: Any, make_user: Any, admin: Any, auth_headers: Any, name: str
) -> None:
    instructor = make_user(role="instructor", full_name="Grace Hopper")
    student = make_user(full_name=name)
    course = create_course(instructor, title="Compilers: théorie et pratique")
    enrollment = create_enrollment(student, course, completed=True)
    certificate = issue(client, enrollment, auth_headers(admin))

    response = client.get(
        f"/api/v1/certificates/{certificate['id']}/download", headers=auth_headers(student)
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert certificate["certificate_number"] in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    assert hashlib.sha256(response.content).hexdigest() == certificate["pdf_sha256"]
    text = pdf_text(response.content)
    assert name in text
    assert "Compilers: théorie et pratique" in text
    assert "Grace Hopper" in text
    assert certificate["certificate_number"] in text
    assert f"/api/v1/certificates/verify/{certificate['certificate_number']}" in text


def test_only_student_course_owner_and_admin_read_or_download(
    client: Any, instructor: Any, student: Any, admin: Any, make_user: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    certificate = issue(
        client, create_enrollment(student, course, completed=True), auth_headers(admin)
    )
    base = f"/api/v1/certificates/{certificate['id']}"

    for allowed in (student, instructor, admin):
        assert client.get(f"{base}/download", headers=auth_headers(allowed)).status_code == 200
        assert client.get(base, headers=auth_headers(allowed)).status_code == 200
    for denied in (make_user(), make_user(role="instructor")):
        assert client.get(f"{base}/download", headers=auth_headers(denied)).status_code == 404
        assert client.get(base, headers=auth_headers(denied)).status_code == 404
    assert client.get(f"{base}/download").status_code == 401
    # Another student's certificates never show in my list.
    other = client.get("/api/v1/certificates/my-certificates", headers=auth_headers(make_user()))
    assert other.json()["total"] == 0


def test_verify_shows_valid_then_revoked(
    client: Any, instructor: Any, make_user: Any, admin: Any, auth_headers: Any
) -> None:
    student = make_user(full_name="Alan Turing", email="alan@example.com")
    course = create_course(instructor, title="Computability")
    certificate = issue(
        client, create_enrollment(student, course, completed=True), auth_headers(admin)
    )
    url = f"/api/v1/certificates/verify/{certificate['certificate_number']}"

    valid = client.get(url)  # public: no credentials
    assert valid.status_code == 200
    body = valid.json()
    assert body["valid"] is True and body["status"] == "valid"
    assert body["student_name"] == "Alan Turing"
    assert body["course_title"] == "Computability"
    assert body["pdf_sha256"] == certificate["pdf_sha256"]
    # Nothing else personal.
    assert "alan@example.com" not in valid.text
    assert "student_id" not in body and "enrollment_id" not in body

    revoked = client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        headers=auth_headers(instructor),
        json={"reason": "Academic misconduct"},
    )
    assert revoked.status_code == 200
    assert revoked.json()["is_revoked"] is True
    assert revoked.json()["revoked_reason"] == "Academic misconduct"

    after = client.get(url).json()
    assert after["valid"] is False and after["status"] == "revoked"
    assert after["revoked_at"] is not None
    assert "misconduct" not in client.get(url).text


def test_verify_unknown_number_is_404(client: Any) -> None:
    response = client.get("/api/v1/certificates/verify/LMS-2026-NOPE-NOPE")
    assert response.status_code == 404
    assert response.json()["code"] == "certificate_not_found"


@pytest.mark.parametrize(
    "forgery",
    [
        {"student_name": "Mallory"},
        {"course_title": "Brain Surgery"},
        {"pdf_sha256": "0" * 64},
        {"is_revoked": False, "revoked_at": None},
    ],
)
def test_tampered_certificate_fails_verification(
    client: Any,
    instructor: Any,
    student: Any,
    admin: Any,
    auth_headers: Any,
    forgery: dict[str, Any],
) -> None:
    course = create_course(instructor)
    certificate = issue(
        client, create_enrollment(student, course, completed=True), auth_headers(admin)
    )
    expected = "valid"
    if "is_revoked" in forgery:
        revoked = client.post(
            f"/api/v1/certificates/{certificate['id']}/revoke",
            headers=auth_headers(admin),
            json={"reason": "Issued by mistake"},
        )
        assert revoked.status_code == 200, revoked.text
        expected = "revoked"
    url = f"/api/v1/certificates/verify/{certificate['certificate_number']}"
    assert client.get(url).json()["status"] == expected

    with session_scope() as db:
        db.execute(
            update(Certificate)
            .where(Certificate.id == uuid.UUID(certificate["id"]))
            .values(**forgery)
        )

    body = client.get(url).json()
    assert body["valid"] is False
    assert body["status"] == "tampered"
    assert body["student_name"] is None and body["course_title"] is None


def test_revocation_rules(
    client: Any, instructor: Any, student: Any, admin: Any, make_user: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    certificate = issue(
        client, create_enrollment(student, course, completed=True), auth_headers(admin)
    )
    url = f"/api/v1/certificates/{certificate['id']}/revoke"
    reason = {"reason": "Duplicate account"}

    assert client.post(url, headers=auth_headers(student), json=reason).status_code == 403
    outsider = make_user(role="instructor")
    assert client.post(url, headers=auth_headers(outsider), json=reason).status_code == 404
    assert client.post(url, headers=auth_headers(admin), json={"reason": ""}).status_code == 422
    assert client.post(url, headers=auth_headers(admin), json={}).status_code == 422
    number = certificate["certificate_number"]
    assert client.get(f"/api/v1/certificates/verify/{number}").json()["status"] == "valid"

    assert client.post(url, headers=auth_headers(admin), json=reason).status_code == 200
    again = client.post(url, headers=auth_headers(instructor), json=reason)
    assert again.status_code == 409
    assert again.json()["code"] == "already_revoked"


def test_verification_is_rate_limited(client: Any, env: Callable[..., None]) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    env(CERTIFICATE_VERIFY_RATE_LIMIT_PER_MINUTE="3")
    with TestClient(create_app()) as limited:
        codes = [
            limited.get("/api/v1/certificates/verify/LMS-2026-AAAA-AAAA").status_code
            for _ in range(5)
        ]
    assert codes[:3] == [404, 404, 404]
    assert codes[3:] == [429, 429]
