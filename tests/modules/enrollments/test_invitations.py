"""Invitations end to end through a real SMTP server: staff invite an address without an
account, the mail carries a sign-up link, and signing up with its token enrolls the new
student into the cohort. Forged, mismatched, expired and reused tokens enroll no one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select, update

from app.core.database import session_scope, utcnow
from app.core.security import hash_token
from app.modules.courses.models import CohortMember
from app.modules.enrollments.models import Enrollment, EnrollmentInvitation
from app.modules.users.models import User
from tests.modules.courses.staff_factories import Cast, create_cast
from tests.ops.test_checks import Inbox, smtp  # noqa: F401 - the SMTP server fixture

API = "/api/v1"
PASSWORD = "Invited-Horse-42"


@pytest.fixture
def mail(env: Callable[..., None], smtp: Inbox) -> Inbox:  # noqa: F811
    env(EMAIL_BACKEND="smtp", FRONTEND_URL="https://learn.example.com")
    return smtp


def _invite(client: Any, cast: Cast, headers: dict[str, str], email: str) -> dict[str, Any]:
    response = client.post(
        f"{API}/courses/{cast.course.id}/enrollments",
        json={
            "students": [{"email": email}],
            "cohort_id": str(cast.cohort_b),
            "invite_unknown": True,
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["results"][0])


def _token_from(inbox: Inbox, address: str) -> str:
    (message,) = [m for m in inbox.messages if m["To"] == address]
    assert "Staffed course" in message["Subject"]
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    link = re.search(r"https://learn\.example\.com/register\?\S+", text)
    assert link is not None, text
    return parse_qs(urlparse(link.group(0)).query)["invitation"][0]


def _register(client: Any, email: str, token: str | None) -> Any:
    body = {"email": email, "password": PASSWORD, "full_name": "New Person"}
    if token is not None:
        body["invitation_token"] = token
    return client.post(f"{API}/auth/register", json=body)


def _accounts(email: str) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count(User.id)).where(User.email == email)) or 0)


def test_signing_up_with_the_mailed_token_enrolls_into_the_cohort(
    client: Any, make_user: Callable[..., Any], auth_headers: Any, mail: Inbox
) -> None:
    cast = create_cast(make_user)
    row = _invite(client, cast, auth_headers(cast.users["owner"]), "Newcomer@Example.com")
    assert row["status"] == "invited"
    assert row["email"] == "newcomer@example.com"
    token = _token_from(mail, "newcomer@example.com")
    with session_scope() as session:
        stored = session.scalars(select(EnrollmentInvitation)).one()
        # Only the hash is kept.
        assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    registered = _register(client, "newcomer@example.com", token)
    assert registered.status_code == 201, registered.text
    user_id = uuid.UUID(registered.json()["user"]["id"])
    with session_scope() as session:
        enrollment = session.scalars(
            select(Enrollment).where(
                Enrollment.course_id == cast.course.id, Enrollment.student_id == user_id
            )
        ).one()
        assert enrollment.status == "active"
        assert (
            session.scalar(select(CohortMember.cohort_id).where(CohortMember.student_id == user_id))
            == cast.cohort_b
        )
        assert session.scalars(select(EnrollmentInvitation)).one().accepted_at is not None
    # The new student reads the course as enrolled.
    mine = client.get(
        f"{API}/enrollments/my-courses",
        headers={"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"},
    )
    assert [item["course_id"] for item in mine.json()["items"]] == [str(cast.course.id)]
    # Replaying the token (another sign-up) enrolls no one and creates no account.
    replay = _register(client, "someone.else@example.com", token)
    assert (replay.status_code, replay.json()["code"]) == (400, "invitation_invalid")
    assert _accounts("someone.else@example.com") == 0


def test_forged_mismatched_and_expired_tokens_enroll_no_one(
    client: Any, make_user: Callable[..., Any], auth_headers: Any, mail: Inbox
) -> None:
    cast = create_cast(make_user)
    headers = auth_headers(cast.users["instructor"])
    _invite(client, cast, headers, "late@example.com")
    _invite(client, cast, headers, "right@example.com")
    late_token = _token_from(mail, "late@example.com")
    right_token = _token_from(mail, "right@example.com")
    for email, token in (
        ("right@example.com", "forged-" + right_token[7:]),
        ("wrong@example.com", right_token),  # the invitation names another address
    ):
        refused = _register(client, email, token)
        assert (refused.status_code, refused.json()["code"]) == (400, "invitation_invalid")
        assert _accounts(email) == 0
    with session_scope() as session:
        session.execute(
            update(EnrollmentInvitation)
            .where(EnrollmentInvitation.email == "late@example.com")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = _register(client, "late@example.com", late_token)
    assert (expired.status_code, expired.json()["code"]) == (400, "invitation_invalid")
    assert _accounts("late@example.com") == 0
    # Signing up without the token makes a plain account, enrolled nowhere.
    plain = _register(client, "late@example.com", None)
    assert plain.status_code == 201
    with session_scope() as session:
        assert (
            session.scalar(
                select(func.count(Enrollment.id)).where(
                    Enrollment.student_id == uuid.UUID(plain.json()["user"]["id"])
                )
            )
            == 0
        )
    # The untouched invitation still works for its own address.
    assert _register(client, "right@example.com", right_token).status_code == 201


def test_invitations_expire_after_the_configured_days(
    client: Any, make_user: Callable[..., Any], auth_headers: Any, env: Callable[..., None]
) -> None:
    env(ENROLLMENT_INVITATION_EXPIRE_DAYS="3")
    cast = create_cast(make_user)
    row = _invite(client, cast, auth_headers(cast.users["admin"]), "soon@example.com")
    with session_scope() as session:
        stored = session.scalars(select(EnrollmentInvitation)).one()
        assert abs(stored.expires_at - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)
        assert stored.cohort_id == cast.cohort_b
        assert stored.invited_by_id == cast.users["admin"].id
    assert row["invitation_expires_at"] is not None
