"""Registration and its role rules, the password policy, password reset and email
verification."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.modules.auth.models import OneTimeToken, RefreshToken
from app.modules.users.models import User
from tests.modules.auth.helpers import API, bearer, login, sent_mails, token_in, tokens_for

GOOD_PASSWORD = "Plenty-Strong-7"


def _register(client: Any, **overrides: Any) -> Any:
    payload = {
        "email": "new@example.com",
        "password": GOOD_PASSWORD,
        "full_name": "New Person",
        **overrides,
    }
    return client.post(f"{API}/auth/register", json=payload)


def _user_count(db: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(User)))


def _app_client(env: Any, **settings: Any) -> TestClient:
    from app.main import create_app

    env(**settings)
    return TestClient(create_app())


# --- registration ------------------------------------------------------------------------------


def test_register_creates_a_student_signs_in_and_sends_welcome(client: Any) -> None:
    response = _register(client, email="New@Example.com")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == "new@example.com"
    assert body["user"]["role"] == "student"
    assert "password_hash" not in body["user"]
    me = client.get(f"{API}/auth/me", headers=bearer(body["tokens"]["access_token"]))
    assert me.json()["id"] == body["user"]["id"]
    welcome = sent_mails("new@example.com")
    assert len(welcome) == 1
    assert welcome[0]["Subject"].startswith("Welcome to")


def test_register_as_admin_is_refused(client: Any, db: Any) -> None:
    response = _register(client, role="admin")
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"
    assert _user_count(db) == 0


def test_register_as_instructor_depends_on_the_setting(env: Any, db: Any) -> None:
    with _app_client(env) as client:
        refused = _register(client, role="instructor")
        assert refused.status_code == 403
        assert refused.json()["code"] == "role_not_allowed"
    with _app_client(env, ALLOW_INSTRUCTOR_SIGNUP="true") as client:
        allowed = _register(client, role="instructor")
        assert allowed.status_code == 201
        assert allowed.json()["user"]["role"] == "instructor"
    assert _user_count(db) == 1


def test_register_with_an_unknown_role_is_a_validation_error(client: Any) -> None:
    response = _register(client, role="superuser")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_register_duplicate_email_case_insensitive(client: Any, student: Any, db: Any) -> None:
    response = _register(client, email="STUDENT@example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert _user_count(db) == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!", "at least 8"),
        ("alllowercaseletters", "mix at least two"),
        ("12345678901", "mix at least two"),
        ("new@example.com", "email"),
        ("Ab1-" + "x" * 70, "72 bytes"),
        ("Ab1-" + "é" * 35, "72 bytes"),  # 74 bytes in UTF-8, though only 39 characters
    ],
)
def test_weak_passwords_are_refused(client: Any, db: Any, password: str, reason: str) -> None:
    response = _register(client, password=password)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "weak_password"
    assert reason in body["detail"]
    assert body["errors"][0]["field"] == "password"
    assert _user_count(db) == 0


def test_password_minimum_is_configurable(env: Any) -> None:
    with _app_client(env, PASSWORD_MIN_LENGTH="12") as client:
        response = _register(client, password="Short-pass1")  # 11 characters
        assert response.status_code == 422
        assert "at least 12" in response.json()["detail"]


def test_invalid_email_is_a_validation_error(client: Any) -> None:
    response = _register(client, email="not-an-email")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"


# --- email verification ------------------------------------------------------------------------


def test_required_verification_blocks_login_until_confirmed(env: Any, db: Any) -> None:
    with _app_client(env, REQUIRE_EMAIL_VERIFICATION="true") as client:
        registered = _register(client)
        assert registered.status_code == 201
        assert registered.json()["tokens"] is None
        blocked = login(client, "new@example.com", GOOD_PASSWORD)
        assert blocked.status_code == 403
        assert blocked.json()["code"] == "email_not_verified"

        verify_mail = [m for m in sent_mails("new@example.com") if "Confirm" in m["Subject"]]
        token = token_in(verify_mail[-1])
        confirmed = client.post(f"{API}/auth/verify-email/confirm", json={"token": token})
        assert confirmed.status_code == 200, confirmed.text
        assert login(client, "new@example.com", GOOD_PASSWORD).status_code == 200
        again = client.post(f"{API}/auth/verify-email/confirm", json={"token": token})
        assert again.status_code == 400
        assert again.json()["code"] == "token_invalid"


def test_verification_request_answers_the_same_for_unknown_email(client: Any, student: Any) -> None:
    known = client.post(f"{API}/auth/verify-email/request", json={"email": "student@example.com"})
    unknown = client.post(f"{API}/auth/verify-email/request", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    token = token_in(sent_mails("student@example.com")[-1])
    assert client.post(f"{API}/auth/verify-email/confirm", json={"token": token}).status_code == 200
    me = tokens_for(client, "student@example.com")
    profile = client.get(f"{API}/users/me", headers=bearer(me["access_token"])).json()
    assert profile["email_verified_at"] is not None


def test_verification_token_is_not_a_reset_token(client: Any, student: Any) -> None:
    client.post(f"{API}/auth/verify-email/request", json={"email": "student@example.com"})
    token = token_in(sent_mails("student@example.com")[-1])
    response = client.post(
        f"{API}/auth/reset-password", json={"token": token, "new_password": "Brand-new-pass-2"}
    )
    assert response.status_code == 400


# --- password reset ----------------------------------------------------------------------------


def test_forgot_password_is_202_whether_or_not_the_email_exists(
    client: Any, student: Any, db: Any
) -> None:
    known = client.post(f"{API}/auth/forgot-password", json={"email": "student@example.com"})
    unknown = client.post(f"{API}/auth/forgot-password", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(sent_mails("student@example.com")) == 1
    assert sent_mails("ghost@example.com") == []
    stored = db.scalars(select(OneTimeToken)).all()
    assert len(stored) == 1
    assert stored[0].token_hash != token_in(sent_mails("student@example.com")[0])


def test_reset_password_sets_it_once_and_ends_sessions(client: Any, student: Any, db: Any) -> None:
    session_before = tokens_for(client, "student@example.com")
    client.post(f"{API}/auth/forgot-password", json={"email": "student@example.com"})
    mail = sent_mails("student@example.com")[-1]
    assert "reset-password?token=" in mail.as_string()
    token = token_in(mail)

    response = client.post(
        f"{API}/auth/reset-password", json={"token": token, "new_password": "Brand-new-pass-2"}
    )
    assert response.status_code == 200, response.text
    assert login(client, "student@example.com", "Brand-new-pass-2").status_code == 200
    assert login(client, "student@example.com").status_code == 401  # the old password

    # Every earlier session is dead: access token and refresh token alike.
    me = client.get(f"{API}/auth/me", headers=bearer(session_before["access_token"]))
    assert me.status_code == 401
    refresh = client.post(
        f"{API}/auth/refresh", json={"refresh_token": session_before["refresh_token"]}
    )
    assert refresh.status_code == 401
    revoked = db.scalars(select(RefreshToken).where(RefreshToken.revoked_at.is_not(None))).all()
    assert len(revoked) >= 1
    db.commit()  # release SQLite's write lock before the next request

    again = client.post(
        f"{API}/auth/reset-password", json={"token": token, "new_password": "Another-pass-3"}
    )
    assert again.status_code == 400
    assert again.json()["code"] == "token_invalid"


def test_reset_with_weak_password_keeps_the_token_usable(client: Any, student: Any) -> None:
    client.post(f"{API}/auth/forgot-password", json={"email": "student@example.com"})
    token = token_in(sent_mails("student@example.com")[-1])
    weak = client.post(
        f"{API}/auth/reset-password", json={"token": token, "new_password": "weakweakweak"}
    )
    assert weak.status_code == 422
    assert login(client, "student@example.com").status_code == 200  # unchanged
    ok = client.post(
        f"{API}/auth/reset-password", json={"token": token, "new_password": "Strong-enough-4"}
    )
    assert ok.status_code == 200


def test_expired_or_bogus_reset_token_is_refused(client: Any, student: Any, db: Any) -> None:
    from datetime import timedelta

    from app.core.database import utcnow

    client.post(f"{API}/auth/forgot-password", json={"email": "student@example.com"})
    token = token_in(sent_mails("student@example.com")[-1])
    row = db.scalars(select(OneTimeToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    for candidate in (token, "made-up-token"):
        response = client.post(
            f"{API}/auth/reset-password",
            json={"token": candidate, "new_password": "Brand-new-pass-2"},
        )
        assert response.status_code == 400
    assert login(client, "student@example.com").status_code == 200


def test_reset_token_expires_after_thirty_minutes(client: Any, student: Any, db: Any) -> None:
    client.post(f"{API}/auth/forgot-password", json={"email": "student@example.com"})
    row = db.scalars(select(OneTimeToken)).one()
    lifetime = row.expires_at - row.created_at
    assert 29 * 60 < lifetime.total_seconds() <= 30 * 60
