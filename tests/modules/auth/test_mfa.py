"""TOTP MFA: setup, challenge sign-in, replay protection, recovery codes, disabling."""

from __future__ import annotations

from typing import Any

import pyotp
from sqlalchemy import select

from app.modules.auth.models import MFARecoveryCode
from app.modules.users.models import User
from tests.modules.auth.helpers import (
    API,
    bearer,
    fetch,
    login,
    next_totp,
    sent_mails,
    tokens_for,
)


def _enable_mfa(client: Any, email: str) -> tuple[dict[str, str], str, list[str]]:
    """Turn MFA on for `email`; returns (auth headers, secret, recovery codes)."""
    headers = bearer(tokens_for(client, email)["access_token"])
    setup = client.post(f"{API}/auth/mfa/enable/request", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirm = client.post(
        f"{API}/auth/mfa/enable/confirm", json={"code": next_totp(secret)}, headers=headers
    )
    assert confirm.status_code == 200, confirm.text
    return headers, secret, confirm.json()["recovery_codes"]


def _challenge(client: Any, email: str = "student@example.com") -> str:
    response = login(client, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    return str(body["mfa_token"])


def test_setup_returns_secret_uri_and_qr(client: Any, student: Any) -> None:
    headers = bearer(tokens_for(client, "student@example.com")["access_token"])
    body = client.post(f"{API}/auth/mfa/enable/request", headers=headers).json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert "student%40example.com" in body["otpauth_uri"]
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == body["secret"]
    assert body["qr_code"].startswith("data:image/svg+xml")
    # Not on until a code proves the authenticator has the secret.
    assert fetch(lambda s: s.get(User, student.id).mfa_enabled) is False
    assert login(client, "student@example.com").json().get("access_token")


def test_confirm_with_a_wrong_code_is_refused(client: Any, student: Any) -> None:
    headers = bearer(tokens_for(client, "student@example.com")["access_token"])
    client.post(f"{API}/auth/mfa/enable/request", headers=headers)
    response = client.post(
        f"{API}/auth/mfa/enable/confirm", json={"code": "000000"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_mfa_code"
    assert login(client, "student@example.com").json().get("access_token")  # still off


def test_confirm_without_a_request_is_a_conflict(client: Any, student: Any) -> None:
    headers = bearer(tokens_for(client, "student@example.com")["access_token"])
    response = client.post(
        f"{API}/auth/mfa/enable/confirm", json={"code": "123456"}, headers=headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "mfa_not_requested"


def test_enable_then_login_challenge_then_totp_gives_tokens(client: Any, student: Any) -> None:
    headers, secret, codes = _enable_mfa(client, "student@example.com")
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = fetch(lambda s: s.scalars(select(MFARecoveryCode.code_hash)).all())
    assert len(stored) == 10
    assert set(stored).isdisjoint(codes)  # hashed, never in clear
    assert any(
        "turned on" in m["Subject"] or "is on" in m["Subject"]
        for m in sent_mails("student@example.com")
    )

    again = client.post(f"{API}/auth/mfa/enable/request", headers=headers)
    assert again.status_code == 409

    token = _challenge(client)
    response = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": token, "code": next_totp(secret, 1)}
    )
    assert response.status_code == 200, response.text
    access = response.json()["access_token"]
    assert client.get(f"{API}/auth/me", headers=bearer(access)).json()["mfa_enabled"] is True


def test_replayed_totp_code_is_refused(client: Any, student: Any) -> None:
    _headers, secret, _codes = _enable_mfa(client, "student@example.com")
    code = next_totp(secret, 1)
    first = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": code}
    )
    assert first.status_code == 200
    replay = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": code}
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_mfa_code"
    # The code used to confirm setup cannot sign in either.
    older = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": next_totp(secret)}
    )
    assert older.status_code == 401


def test_wrong_code_and_forged_challenge_are_refused(client: Any, student: Any) -> None:
    _enable_mfa(client, "student@example.com")
    wrong = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": "000000"}
    )
    assert wrong.status_code == 401
    # An access token is not a challenge token.
    from tests.factories import bearer_headers

    access = bearer_headers(student)["Authorization"].split()[1]
    forged = client.post(f"{API}/auth/login/mfa", json={"mfa_token": access, "code": "123456"})
    assert forged.status_code == 401
    assert forged.json()["code"] == "token_invalid"


def test_recovery_code_works_once(client: Any, student: Any) -> None:
    _headers, _secret, codes = _enable_mfa(client, "student@example.com")
    code = codes[0].upper().replace("-", " ")  # typed loosely from paper
    first = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": code}
    )
    assert first.status_code == 200, first.text
    second = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": codes[0]}
    )
    assert second.status_code == 401
    notices = [m for m in sent_mails("student@example.com") if "recovery code" in m["Subject"]]
    assert len(notices) == 1
    other = client.post(
        f"{API}/auth/login/mfa", json={"mfa_token": _challenge(client), "code": codes[1]}
    )
    assert other.status_code == 200


def test_oauth2_form_answers_mfa_required_with_a_challenge(client: Any, student: Any) -> None:
    _enable_mfa(client, "student@example.com")
    response = client.post(
        f"{API}/auth/token", data={"username": "student@example.com", "password": "Correct-Horse-9"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"
    assert response.json()["mfa_token"]


def test_disable_needs_password_and_code(client: Any, student: Any) -> None:
    headers, secret, codes = _enable_mfa(client, "student@example.com")
    wrong_password = client.post(
        f"{API}/auth/mfa/disable",
        json={"password": "Wrong-pass-1", "code": codes[0]},
        headers=headers,
    )
    assert wrong_password.status_code == 403
    wrong_code = client.post(
        f"{API}/auth/mfa/disable",
        json={"password": "Correct-Horse-9", "code": "000000"},
        headers=headers,
    )
    assert wrong_code.status_code == 403
    assert fetch(lambda s: s.get(User, student.id).mfa_enabled) is True

    ok = client.post(
        f"{API}/auth/mfa/disable",
        json={"password": "Correct-Horse-9", "code": codes[0]},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    user = fetch(lambda s: s.get(User, student.id))
    assert user.mfa_enabled is False and user.mfa_secret is None
    assert fetch(lambda s: s.scalars(select(MFARecoveryCode)).all()) == []
    assert login(client, "student@example.com").json()["access_token"]
    assert any("is off" in m["Subject"] for m in sent_mails("student@example.com"))
    again = client.post(
        f"{API}/auth/mfa/disable",
        json={"password": "Correct-Horse-9", "code": next_totp(secret, 1)},
        headers=headers,
    )
    assert again.status_code == 409


def test_mfa_routes_need_authentication(client: Any) -> None:
    assert client.post(f"{API}/auth/mfa/enable/request").status_code == 401
    assert client.post(f"{API}/auth/mfa/enable/confirm", json={"code": "123456"}).status_code == 401
    assert (
        client.post(f"{API}/auth/mfa/disable", json={"password": "x", "code": "123456"}).status_code
        == 401
    )
