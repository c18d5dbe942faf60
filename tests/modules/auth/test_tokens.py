"""Sign-in, JWT validation, refresh-token rotation and sign-out, and the attacks on each."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import select

from app.core.security import TokenType, create_token, decode_token
from app.modules.auth.models import RefreshToken
from tests.modules.auth.helpers import API, bearer, login, tokens_for


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# --- login --------------------------------------------------------------------------------


def test_login_returns_access_and_refresh_tokens(client: Any, student: Any) -> None:
    body = tokens_for(client, "STUDENT@example.com")  # email is case-insensitive
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    claims = decode_token(body["access_token"], expected_type=TokenType.ACCESS)
    assert claims["sub"] == str(student.id)
    assert claims["role"] == "student"
    assert {"jti", "iat", "exp"} <= claims.keys()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    me = client.get(f"{API}/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "student@example.com"
    assert "password_hash" not in me.json() and "mfa_secret" not in me.json()
    assert me.json()["last_login_at"] is not None


def test_oauth2_token_form_endpoint(client: Any, student: Any) -> None:
    response = client.post(
        f"{API}/auth/token",
        data={"username": "student@example.com", "password": "Correct-Horse-9"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert client.get(f"{API}/users/me", headers=bearer(body["access_token"])).status_code == 200
    wrong = client.post(
        f"{API}/auth/token", data={"username": "student@example.com", "password": "nope-Nope-1"}
    )
    _problem(wrong, 401, "invalid_credentials")


def test_wrong_password_and_unknown_email_get_the_same_answer(client: Any, student: Any) -> None:
    wrong = _problem(
        login(client, "student@example.com", "Wrong-password-1"), 401, "invalid_credentials"
    )
    unknown = _problem(
        login(client, "ghost@example.com", "Wrong-password-1"), 401, "invalid_credentials"
    )
    for key in ("title", "detail", "status", "code", "type"):
        assert wrong[key] == unknown[key]


def test_inactive_user_cannot_sign_in(client: Any, make_user: Any) -> None:
    make_user(email="gone@example.com", is_active=False)
    _problem(login(client, "gone@example.com"), 403, "account_inactive")
    # Without the right password nothing about the account is revealed.
    _problem(login(client, "gone@example.com", "Wrong-password-1"), 401, "invalid_credentials")


def test_old_bcrypt_hash_is_accepted_and_upgraded(client: Any, make_user: Any, db: Any) -> None:
    from pwdlib.hashers.bcrypt import BcryptHasher

    from app.modules.users.models import User

    user = make_user(email="legacy@example.com")
    db.get(User, user.id).password_hash = BcryptHasher().hash("Legacy-pass-1")
    db.commit()
    assert login(client, "legacy@example.com", "Legacy-pass-1").status_code == 200
    db.expire_all()
    assert db.get(User, user.id).password_hash.startswith("$argon2id$")


# --- JWT validation --------------------------------------------------------------------------


def _claims(user: Any, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(user.id),
        "typ": "access",
        "role": user.role,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
        "ver": 0,
        **extra,
    }


def test_expired_token_is_refused(client: Any, student: Any) -> None:
    token, _ = create_token(
        subject=str(student.id),
        token_type=TokenType.ACCESS,
        expires_in=timedelta(seconds=-5),
        claims={"role": "student", "ver": 0},
    )
    _problem(client.get(f"{API}/auth/me", headers=bearer(token)), 401, "token_expired")


def test_token_signed_with_another_key_is_refused(client: Any, student: Any) -> None:
    token = jwt.encode(_claims(student), "another-key-entirely-0123456789-abcdef", "HS256")
    _problem(client.get(f"{API}/auth/me", headers=bearer(token)), 401, "token_invalid")


def test_alg_none_token_is_refused(client: Any, student: Any) -> None:
    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(_claims(student))}."
    _problem(client.get(f"{API}/auth/me", headers=bearer(token)), 401, "token_invalid")


def test_other_algorithm_with_the_right_key_is_refused(client: Any, student: Any) -> None:
    from app.core.config import get_settings

    token = jwt.encode(_claims(student), get_settings().signing_key, "HS512")
    _problem(client.get(f"{API}/auth/me", headers=bearer(token)), 401, "token_invalid")


def test_tampered_role_claim_is_refused(client: Any, student: Any) -> None:
    token = tokens_for(client, "student@example.com")["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = client.get(f"{API}/users", headers=bearer(f"{header}.{forged}.{signature}"))
    _problem(response, 401, "token_invalid")


def test_refresh_token_is_not_an_access_token(client: Any, student: Any) -> None:
    body = tokens_for(client, "student@example.com")
    _problem(
        client.get(f"{API}/auth/me", headers=bearer(body["refresh_token"])), 401, "token_invalid"
    )


def test_access_token_is_not_a_refresh_token(client: Any, student: Any) -> None:
    body = tokens_for(client, "student@example.com")
    response = client.post(f"{API}/auth/refresh", json={"refresh_token": body["access_token"]})
    _problem(response, 401, "token_invalid")


def test_missing_token_is_refused(client: Any) -> None:
    _problem(client.get(f"{API}/auth/me"), 401, "not_authenticated")


def test_deactivated_user_tokens_stop_working(
    client: Any, admin: Any, student: Any, auth_headers: Any
) -> None:
    body = tokens_for(client, "student@example.com")
    response = client.patch(
        f"{API}/users/{student.id}", json={"is_active": False}, headers=auth_headers(admin)
    )
    assert response.status_code == 200, response.text
    _problem(
        client.get(f"{API}/auth/me", headers=bearer(body["access_token"])), 401, "user_inactive"
    )
    refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 401
    # Reactivation does not resurrect the old tokens: token_version moved on.
    client.patch(f"{API}/users/{student.id}", json={"is_active": True}, headers=auth_headers(admin))
    _problem(
        client.get(f"{API}/auth/me", headers=bearer(body["access_token"])), 401, "token_revoked"
    )


# --- refresh rotation --------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(client: Any, student: Any, db: Any) -> None:
    first = tokens_for(client, "student@example.com")
    second = client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert (
        client.get(f"{API}/auth/me", headers=bearer(second_body["access_token"])).status_code == 200
    )

    # The consumed token comes back (stolen copy): 401, and the whole family dies.
    reuse = client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    _problem(reuse, 401, "refresh_token_reused")
    legit = client.post(f"{API}/auth/refresh", json={"refresh_token": second_body["refresh_token"]})
    _problem(legit, 401, "token_revoked")

    rows = db.scalars(select(RefreshToken).where(RefreshToken.user_id == student.id)).all()
    assert len(rows) == 2
    assert len({row.family_id for row in rows}) == 1
    assert all(row.revoked_at is not None for row in rows)
    # Stored hashed, never in clear.
    assert all(
        row.token_hash not in (first["refresh_token"], second_body["refresh_token"]) for row in rows
    )


def test_reuse_only_revokes_that_family(client: Any, student: Any) -> None:
    laptop = tokens_for(client, "student@example.com")
    phone = tokens_for(client, "student@example.com")
    client.post(f"{API}/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    client.post(f"{API}/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert (
        client.post(
            f"{API}/auth/refresh", json={"refresh_token": phone["refresh_token"]}
        ).status_code
        == 200
    )


def test_unknown_or_forged_refresh_token_is_refused(client: Any, student: Any) -> None:
    token, _ = create_token(
        subject=str(student.id),
        token_type=TokenType.REFRESH,
        expires_in=timedelta(days=1),
        claims={"fam": uuid.uuid4().hex, "ver": 0},
    )
    _problem(
        client.post(f"{API}/auth/refresh", json={"refresh_token": token}), 401, "token_invalid"
    )
    _problem(client.post(f"{API}/auth/refresh", json={}), 400, "refresh_token_missing")


# --- logout ------------------------------------------------------------------------------------


def test_logout_revokes_the_access_token_and_the_refresh_token(client: Any, student: Any) -> None:
    body = tokens_for(client, "student@example.com")
    response = client.post(
        f"{API}/auth/logout",
        json={"refresh_token": body["refresh_token"]},
        headers=bearer(body["access_token"]),
    )
    assert response.status_code == 204, response.text
    _problem(
        client.get(f"{API}/auth/me", headers=bearer(body["access_token"])), 401, "token_revoked"
    )
    refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": body["refresh_token"]})
    _problem(refreshed, 401, "token_revoked")


def test_logout_everywhere_ends_every_session(client: Any, student: Any) -> None:
    laptop = tokens_for(client, "student@example.com")
    phone = tokens_for(client, "student@example.com")
    response = client.post(
        f"{API}/auth/logout", json={"everywhere": True}, headers=bearer(laptop["access_token"])
    )
    assert response.status_code == 204
    assert client.get(f"{API}/auth/me", headers=bearer(phone["access_token"])).status_code == 401
    assert (
        client.post(
            f"{API}/auth/refresh", json={"refresh_token": phone["refresh_token"]}
        ).status_code
        == 401
    )


def test_logout_cannot_revoke_someone_elses_session(
    client: Any, student: Any, make_user: Any
) -> None:
    make_user(email="other@example.com")
    mine = tokens_for(client, "student@example.com")
    theirs = tokens_for(client, "other@example.com")
    client.post(
        f"{API}/auth/logout",
        json={"refresh_token": theirs["refresh_token"]},
        headers=bearer(mine["access_token"]),
    )
    assert (
        client.post(
            f"{API}/auth/refresh", json={"refresh_token": theirs["refresh_token"]}
        ).status_code
        == 200
    )


def test_logout_requires_authentication(client: Any) -> None:
    _problem(client.post(f"{API}/auth/logout"), 401, "not_authenticated")
