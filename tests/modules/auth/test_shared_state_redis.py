"""With Redis, lockout and the failed-sign-in ceiling are shared by every API process; a
token revoked through one instance is refused by another (the database answers that)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import lockout
from app.core.redis import get_redis, reset_redis
from tests.modules.auth.helpers import API, bearer, login, tokens_for

pytestmark = pytest.mark.redis


def _forget_process_memory() -> None:
    """Make the second instance unable to see the first one's process memory, so only the
    shared store can carry the state across."""
    lockout.clear_memory()
    reset_redis()


def _instance() -> TestClient:
    from app.main import create_app

    return TestClient(create_app())


def test_logout_on_one_instance_is_seen_by_another(student: Any) -> None:
    with _instance() as first, _instance() as second:
        body = tokens_for(first, "student@example.com")
        assert second.get(f"{API}/auth/me", headers=bearer(body["access_token"])).status_code == 200
        assert (
            first.post(f"{API}/auth/logout", headers=bearer(body["access_token"])).status_code
            == 204
        )
        _forget_process_memory()
        refused = second.get(f"{API}/auth/me", headers=bearer(body["access_token"]))
        assert refused.status_code == 401
        assert refused.json()["code"] == "token_revoked"


def test_lockout_on_one_instance_is_seen_by_another(student: Any) -> None:
    with _instance() as first, _instance() as second:
        for _ in range(3):
            login(first, "student@example.com", "Wrong-password-1")
        for _ in range(2):
            login(second, "student@example.com", "Wrong-password-1")
        _forget_process_memory()
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
