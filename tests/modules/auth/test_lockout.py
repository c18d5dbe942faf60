"""Failed-login lockout: per account and per account+IP, exponential backoff, reset on
success, and no hint about whether the email exists."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import lockout
from app.core.errors import Locked
from tests.modules.auth.helpers import API, login, next_totp, tokens_for

WRONG = "Wrong-password-1"


def _client_behind_proxy(env: Any, **settings: Any) -> TestClient:
    """Trust the test client as a proxy so X-Forwarded-For picks the client address."""
    from app.main import create_app

    env(FORWARDED_ALLOW_IPS="testclient", **settings)
    return TestClient(create_app())


def _from(ip: str) -> dict[str, dict[str, str]]:
    return {"headers": {"X-Forwarded-For": ip}}


def test_five_failures_lock_the_account_with_retry_after(client: Any, student: Any) -> None:
    for _ in range(5):
        assert login(client, "student@example.com", WRONG).status_code == 401
    locked = login(client, "student@example.com")  # even the right password
    assert locked.status_code == 423
    assert locked.json()["code"] == "account_locked"
    assert 55 <= int(locked.headers["Retry-After"]) <= 60
    token_form = client.post(
        f"{API}/auth/token", data={"username": "student@example.com", "password": "Correct-Horse-9"}
    )
    assert token_form.status_code == 423


def test_lockout_does_not_reveal_whether_the_email_exists(client: Any, student: Any) -> None:
    for _ in range(5):  # interleaved, so both locks start within the same second or two
        for email in ("student@example.com", "ghost@example.com"):
            login(client, email, WRONG)
    known = login(client, "student@example.com", WRONG)
    unknown = login(client, "ghost@example.com", WRONG)
    assert known.status_code == unknown.status_code == 423
    assert known.json()["code"] == unknown.json()["code"]
    assert abs(int(known.headers["Retry-After"]) - int(unknown.headers["Retry-After"])) <= 2


def test_success_resets_the_counter(client: Any, student: Any) -> None:
    for _ in range(4):
        login(client, "student@example.com", WRONG)
    assert login(client, "student@example.com").status_code == 200
    for _ in range(4):
        assert login(client, "student@example.com", WRONG).status_code == 401
    assert login(client, "student@example.com").status_code == 200


def test_lock_is_per_account_not_per_ip(client: Any, student: Any, make_user: Any) -> None:
    make_user(email="classmate@example.com")
    for _ in range(5):
        login(client, "student@example.com", WRONG)
    assert login(client, "student@example.com").status_code == 423
    # Same address (a school's NAT), another account: unaffected.
    assert login(client, "classmate@example.com").status_code == 200


def test_lock_from_one_address_leaves_other_addresses_alone(env: Any, student: Any) -> None:
    with _client_behind_proxy(env) as client:
        for _ in range(5):
            login(client, "student@example.com", WRONG, **_from("203.0.113.9"))
        assert login(client, "student@example.com", **_from("203.0.113.9")).status_code == 423
        assert login(client, "student@example.com", **_from("198.51.100.7")).status_code == 200


def test_guessing_spread_over_many_addresses_locks_the_account(env: Any, student: Any) -> None:
    with _client_behind_proxy(env, MAX_FAILED_LOGIN_ATTEMPTS="2") as client:
        # Account-wide threshold: 4 x 2 = 8 failures, one per address.
        for n in range(8):
            assert (
                login(client, "student@example.com", WRONG, **_from(f"192.0.2.{n}")).status_code
                == 401
            )
        assert login(client, "student@example.com", **_from("192.0.2.200")).status_code == 423


def test_mfa_code_guessing_counts_towards_the_lock(client: Any, student: Any) -> None:
    headers = {
        "Authorization": "Bearer " + tokens_for(client, "student@example.com")["access_token"]
    }
    secret = client.post(f"{API}/auth/mfa/enable/request", headers=headers).json()["secret"]
    client.post(f"{API}/auth/mfa/enable/confirm", json={"code": next_totp(secret)}, headers=headers)
    challenge = login(client, "student@example.com").json()["mfa_token"]
    for _ in range(5):
        wrong = client.post(
            f"{API}/auth/login/mfa", json={"mfa_token": challenge, "code": "000000"}
        )
        assert wrong.status_code == 401
    right = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": challenge, "code": next_totp(secret, 1)}
    )
    assert right.status_code == 423


def test_password_reset_lifts_the_lock(client: Any, student: Any) -> None:
    from tests.modules.auth.helpers import sent_mails, token_in

    for _ in range(5):
        login(client, "student@example.com", WRONG)
    client.post(f"{API}/auth/forgot-password", json={"email": "student@example.com"})
    token = token_in(sent_mails("student@example.com")[-1])
    client.post(
        f"{API}/auth/reset-password", json={"token": token, "new_password": "Brand-new-pass-2"}
    )
    assert login(client, "student@example.com", "Brand-new-pass-2").status_code == 200


def test_backoff_doubles_with_each_lock_and_is_capped(
    monkeypatch: pytest.MonkeyPatch, env: Any
) -> None:
    env(ACCOUNT_LOCKOUT_BASE_SECONDS="60", ACCOUNT_LOCKOUT_MAX_SECONDS="200")
    clock = SimpleNamespace(now=1_000_000.0)
    monkeypatch.setattr(lockout, "time", SimpleNamespace(time=lambda: clock.now))

    durations = []
    for _ in range(4):
        for _ in range(5):
            lockout.register_failure("victim@example.com", "10.0.0.1")
        seconds = lockout.retry_after("victim@example.com", "10.0.0.1")
        durations.append(seconds)
        with pytest.raises(Locked):
            lockout.ensure_not_locked("victim@example.com", "10.0.0.1")
        clock.now += seconds + 1
        lockout.ensure_not_locked("victim@example.com", "10.0.0.1")
    assert durations == [60, 120, 200, 200]
