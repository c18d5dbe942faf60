"""With Redis, revocation and lockout are shared by every API process: a token revoked
through one instance is refused by another, and so is a locked account."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import lockout
from app.core.redis import get_redis, reset_redis
from app.core.security import purge_memory_blacklist
from tests.modules.auth.helpers import API, bearer, login, tokens_for

pytestmark = pytest.mark.redis


def _forget_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the second instance unable to see the first one's process memory, so only the
    shared store can carry the state across."""
    from app.core import security

    monkeypatch.setattr(security, "_memory_blacklist", {})
    lockout.clear_memory()
    purge_memory_blacklist()
    reset_redis()


def _instance() -> TestClient:
    from app.main import create_app

    return TestClient(create_app())


def test_logout_on_one_instance_is_seen_by_another(
    monkeypatch: pytest.MonkeyPatch, student: Any
) -> None:
    with _instance() as first, _instance() as second:
        body = tokens_for(first, "student@example.com")
        assert second.get(f"{API}/auth/me", headers=bearer(body["access_token"])).status_code == 200
        assert (
            first.post(f"{API}/auth/logout", headers=bearer(body["access_token"])).status_code
            == 204
        )
        client = get_redis()
        assert client is not None and any(client.scan_iter(match="blacklist:*"))
        _forget_process_memory(monkeypatch)
        refused = second.get(f"{API}/auth/me", headers=bearer(body["access_token"]))
        assert refused.status_code == 401
        assert refused.json()["code"] == "token_revoked"


def test_lockout_on_one_instance_is_seen_by_another(
    monkeypatch: pytest.MonkeyPatch, student: Any
) -> None:
    with _instance() as first, _instance() as second:
        for _ in range(3):
            login(first, "student@example.com", "Wrong-password-1")
        for _ in range(2):
            login(second, "student@example.com", "Wrong-password-1")
        _forget_process_memory(monkeypatch)
        locked = login(first, "student@example.com")
        assert locked.status_code == 423
        assert int(locked.headers["Retry-After"]) > 0
        client = get_redis()
        assert client is not None
        keys = list(client.scan_iter(match="lockout:*"))
        assert keys and all("student" not in key for key in keys)  # no emails in Redis


def test_successful_login_resets_the_shared_counter(student: Any) -> None:
    with _instance() as first, _instance() as second:
        for _ in range(4):
            login(first, "student@example.com", "Wrong-password-1")
        assert login(second, "student@example.com").status_code == 200
        for _ in range(4):
            assert login(first, "student@example.com", "Wrong-password-1").status_code == 401
        assert login(second, "student@example.com").status_code == 200


def _revoke_in_redis(access_token: str) -> None:
    from app.core.security import TokenType, decode_token, revocation_key

    client = get_redis()
    assert client is not None
    jti = decode_token(access_token, expected_type=TokenType.ACCESS)["jti"]
    client.set(revocation_key(jti), "1", ex=60)


def test_the_rate_limit_round_trip_answers_the_revocation_check(
    monkeypatch: pytest.MonkeyPatch, student: Any
) -> None:
    from app.core import dependencies

    def second_round_trip(_jti: str) -> bool:
        raise AssertionError("the revocation check should have come with the rate limit hit")

    with _instance() as client:
        token = tokens_for(client, "student@example.com")["access_token"]
        monkeypatch.setattr(dependencies, "is_access_token_revoked", second_round_trip)
        assert client.get(f"{API}/auth/me", headers=bearer(token)).status_code == 200
        _revoke_in_redis(token)
        refused = client.get(f"{API}/auth/me", headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json()["code"] == "token_revoked"


def test_revocation_is_checked_without_the_rate_limiter(env: Any, student: Any) -> None:
    env(RATE_LIMIT_ENABLED="false")
    with _instance() as client:
        token = tokens_for(client, "student@example.com")["access_token"]
        assert client.get(f"{API}/auth/me", headers=bearer(token)).status_code == 200
        _revoke_in_redis(token)
        refused = client.get(f"{API}/auth/me", headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json()["code"] == "token_revoked"
