"""TOTP secrets at rest: only Fernet ciphertext is stored, keys rotate, a wrong key fails closed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from tests.factories import DEFAULT_PASSWORD
from tests.modules.auth.helpers import API, bearer, fetch, login, next_totp, tokens_for

EMAIL = "student@example.com"


def _stored() -> str:
    """The raw `users.mfa_secret` column of the only user."""
    value = fetch(lambda s: s.execute(text("SELECT mfa_secret FROM users")).scalar_one())
    assert isinstance(value, str)
    return value


def _forget_used_steps() -> None:
    """Let the current step's code sign in again (replay protection is not under test here)."""
    fetch(lambda s: s.execute(text("UPDATE users SET mfa_last_used_step = NULL")))


def _enable_mfa(client: Any) -> tuple[str, list[str]]:
    headers = bearer(tokens_for(client, EMAIL)["access_token"])
    secret = client.post(f"{API}/auth/mfa/enable/request", headers=headers).json()["secret"]
    confirm = client.post(
        f"{API}/auth/mfa/enable/confirm", json={"code": next_totp(secret)}, headers=headers
    )
    assert confirm.status_code == 200, confirm.text
    return secret, confirm.json()["recovery_codes"]


def _sign_in(client: Any, code: str) -> Any:
    challenge = login(client, EMAIL)
    assert challenge.status_code == 200, challenge.text
    return client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": challenge.json()["mfa_token"], "code": code}
    )


@pytest.fixture
def first_key(env: Callable[..., None]) -> str:
    key = Fernet.generate_key().decode()
    env(MFA_SECRET_ENCRYPTION_KEYS=key)
    return key


def test_only_ciphertext_is_stored_and_sign_in_still_works(
    client: Any, student: Any, first_key: str
) -> None:
    headers = bearer(tokens_for(client, EMAIL)["access_token"])
    secret = client.post(f"{API}/auth/mfa/enable/request", headers=headers).json()["secret"]
    pending = _stored()
    assert secret not in pending
    assert Fernet(first_key).decrypt(pending).decode() == secret

    confirm = client.post(
        f"{API}/auth/mfa/enable/confirm", json={"code": next_totp(secret)}, headers=headers
    )
    assert confirm.status_code == 200, confirm.text
    signed_in = _sign_in(client, next_totp(secret, 1))
    assert signed_in.status_code == 200, signed_in.text
    me = client.get(f"{API}/auth/me", headers=bearer(signed_in.json()["access_token"]))
    assert me.json()["mfa_enabled"] is True
    assert secret not in _stored()


def test_an_old_key_second_in_the_list_still_verifies_and_is_replaced(
    client: Any, student: Any, first_key: str, env: Callable[..., None]
) -> None:
    secret, _codes = _enable_mfa(client)
    new_key = Fernet.generate_key().decode()
    env(MFA_SECRET_ENCRYPTION_KEYS=f"{new_key},{first_key}")

    assert _sign_in(client, next_totp(secret, 1)).status_code == 200
    # Re-encrypted under the new key by that sign-in: the old key can now be retired.
    assert Fernet(new_key).decrypt(_stored()).decode() == secret
    env(MFA_SECRET_ENCRYPTION_KEYS=new_key)
    _forget_used_steps()
    assert _sign_in(client, next_totp(secret, 1)).status_code == 200


def test_a_current_key_leaves_the_stored_value_alone(
    client: Any, student: Any, first_key: str
) -> None:
    secret, _codes = _enable_mfa(client)
    before = _stored()
    assert _sign_in(client, next_totp(secret, 1)).status_code == 200
    assert _stored() == before


def test_a_wrong_key_fails_closed_with_a_problem_and_a_logged_error(
    client: Any,
    student: Any,
    first_key: str,
    env: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret, codes = _enable_mfa(client)
    env(MFA_SECRET_ENCRYPTION_KEYS=Fernet.generate_key().decode())

    with caplog.at_level(logging.ERROR, logger="app.auth"):
        refused = _sign_in(client, next_totp(secret, 1))
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["code"] == "mfa_unavailable"
    assert "access_token" not in body
    assert "InvalidToken" not in refused.text and "Traceback" not in refused.text
    assert any("MFA_SECRET_ENCRYPTION_KEYS" in r.getMessage() for r in caplog.records)
    assert Fernet(first_key).decrypt(_stored()).decode() == secret  # left as it was

    # Recovery codes do not depend on the key: the way in that is left.
    assert _sign_in(client, codes[0]).status_code == 200


def test_disabling_clears_the_stored_ciphertext(client: Any, student: Any, first_key: str) -> None:
    _secret, codes = _enable_mfa(client)
    headers = bearer(_sign_in(client, codes[0]).json()["access_token"])
    off = client.post(
        f"{API}/auth/mfa/disable",
        json={"password": DEFAULT_PASSWORD, "code": codes[1]},
        headers=headers,
    )
    assert off.status_code == 200, off.text
    assert fetch(lambda s: s.execute(text("SELECT mfa_secret FROM users")).scalar_one()) is None
