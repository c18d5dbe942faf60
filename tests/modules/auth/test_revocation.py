"""Revocation is durable: a signed-out, password-changed or deactivated token stays refused
after the Redis it once lived in is emptied or gone, on the user-loading path (`/auth/me`) and
on the hot path whose one statement checks the principal (`/enrollments/my-courses`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope, utcnow
from app.core.redis import get_redis
from app.main import create_app
from app.modules.auth import service as auth_service
from app.modules.users.models import RevokedAccessToken
from tests.modules.auth.helpers import API, bearer, fetch, sent_mails, token_in, tokens_for

PATHS = (f"{API}/auth/me", f"{API}/enrollments/my-courses")


def _flush_redis() -> None:
    client = get_redis()
    assert client is not None
    client.flushdb()  # the test's own Redis database, never the whole server


def _refused(client: TestClient, token: str, code: str) -> None:
    for path in PATHS:
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 401, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code, path


def _logout(client: TestClient, token: str) -> None:
    assert client.post(f"{API}/auth/logout", headers=bearer(token)).status_code == 204


def _reset_password(client: TestClient, _token: str) -> None:
    assert client.post(
        f"{API}/auth/forgot-password", json={"email": "student@example.com"}
    ).status_code in (200, 202)
    reset = token_in(sent_mails("student@example.com")[-1])
    response = client.post(
        f"{API}/auth/reset-password", json={"token": reset, "new_password": "Another-Horse-42"}
    )
    assert response.status_code == 200, response.text


def _deactivate(admin_headers: dict[str, str]) -> Any:
    def action(client: TestClient, _token: str) -> None:
        student_id = client.get(f"{API}/auth/me", headers=bearer(_token)).json()["id"]
        response = client.patch(
            f"{API}/users/{student_id}", json={"is_active": False}, headers=admin_headers
        )
        assert response.status_code == 200, response.text

    return action


@pytest.mark.redis
@pytest.mark.parametrize(
    ("revoke", "code"),
    [("logout", "token_revoked"), ("password", "token_revoked"), ("deactivate", "user_inactive")],
)
def test_a_revoked_token_stays_refused_after_redis_is_flushed(
    client: Any, student: Any, admin: Any, auth_headers: Any, revoke: str, code: str
) -> None:
    token = tokens_for(client, "student@example.com")["access_token"]
    for path in PATHS:
        assert client.get(path, headers=bearer(token)).status_code == 200
    action = {
        "logout": _logout,
        "password": _reset_password,
        "deactivate": _deactivate(auth_headers(admin)),
    }[revoke]
    action(client, token)
    _refused(client, token, code)
    _flush_redis()
    _refused(client, token, code)


def test_a_signed_out_token_is_refused_without_any_redis(env: Any, student: Any) -> None:
    """An unreachable Redis neither forgets a revocation nor blocks authentication: the
    database answers both."""
    env(REDIS_URL="redis://127.0.0.1:1/0")
    with TestClient(create_app()) as client:
        kept = tokens_for(client, "student@example.com")["access_token"]
        ended = tokens_for(client, "student@example.com")["access_token"]
        _logout(client, ended)
        _refused(client, ended, "token_revoked")
        for path in PATHS:
            assert client.get(path, headers=bearer(kept)).status_code == 200, path


def test_signing_out_records_the_token_until_it_expires(client: Any, student: Any) -> None:
    token = tokens_for(client, "student@example.com")["access_token"]
    _logout(client, token)
    rows = fetch(lambda db: db.scalars(select(RevokedAccessToken)).all())
    assert len(rows) == 1
    assert rows[0].user_id == student.id
    assert utcnow() < rows[0].expires_at <= utcnow() + timedelta(minutes=61)


def test_expired_revocations_are_cleaned_up(client: Any, student: Any) -> None:
    for _ in range(2):
        _logout(client, tokens_for(client, "student@example.com")["access_token"])
    with session_scope() as db:
        counts = auth_service.delete_expired_tokens(db, now=utcnow())
    assert counts["revoked_access_tokens"] == 0
    with session_scope() as db:
        counts = auth_service.delete_expired_tokens(db, now=utcnow() + timedelta(days=1))
    assert counts["revoked_access_tokens"] == 2
    count = fetch(lambda db: db.scalar(select(func.count()).select_from(RevokedAccessToken)))
    assert count == 0
