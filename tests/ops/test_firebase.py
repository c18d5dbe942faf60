"""Firebase sign-in with locally generated RSA keys: a local server publishes their x509
certificates the way Google does (FIREBASE_CERTS_URL points at it), and tokens are signed
exactly like Firebase ID tokens. Every check of Firebase's verification rules is attacked."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core import firebase as firebase_core
from app.core.database import session_scope
from app.modules.users.models import User
from tests.ops.fake_servers import FakeServer, serve, signed_by_itself

PROJECT = "lms-demo-project"
URL = "/api/v1/auth/firebase"


class Keys:
    """Signing keys and the certificate document Google publishes for them."""

    def __init__(self) -> None:
        self.private: dict[str, rsa.RSAPrivateKey] = {}
        self.published: dict[str, str] = {}

    def add(self, kid: str, *, publish: bool = True) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private[kid] = key
        if publish:
            self.published[kid] = (
                signed_by_itself(key, "securetoken.system")
                .public_bytes(serialization.Encoding.PEM)
                .decode()
            )


@pytest.fixture
def keys() -> Keys:
    keys = Keys()
    keys.add("key-1")
    return keys


@pytest.fixture
def google(keys: Keys) -> Iterator[FakeServer]:
    def handler(method: str, path: str, headers: dict[str, str]) -> tuple:
        body = json.dumps(keys.published).encode()
        return (
            200,
            {"Content-Type": "application/json", "Cache-Control": "public, max-age=3600"},
            body,
        )

    firebase_core.reset_cache()
    with serve(handler) as server:
        yield server
    firebase_core.reset_cache()


@pytest.fixture
def firebase_client(
    env: Callable[..., None], google: FakeServer, clean_state: None
) -> Iterator[TestClient]:
    from app.main import create_app

    env(
        FIREBASE_ENABLED="true",
        FIREBASE_PROJECT_ID=PROJECT,
        FIREBASE_CERTS_URL=f"{google.url}/robot/v1/metadata/x509/securetoken",
    )
    with TestClient(create_app()) as client:
        yield client


def _hand_signed(header: dict[str, Any], claims: dict[str, Any], secret: str | None) -> str:
    encode = jwt.utils.base64url_encode
    signing_input = encode(json.dumps(header).encode()) + b"." + encode(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest() if secret else b""
    return (signing_input + b"." + encode(signature)).decode()


def id_token(keys: Keys, kid: str = "key-1", **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "auth_time": now - 60,
        "user_id": "firebase-uid-123",
        "sub": "firebase-uid-123",
        "iat": now - 30,
        "exp": now + 3600,
        "email": "fire.student@example.com",
        "email_verified": True,
        "name": "Fire Student",
        "firebase": {"sign_in_provider": "google.com"},
    }
    claims.update(overrides)
    claims = {key: value for key, value in claims.items() if value is not None}
    return jwt.encode(claims, keys.private[kid], algorithm="RS256", headers={"kid": kid})


def test_new_firebase_user_becomes_a_student_and_gets_tokens(
    firebase_client: TestClient, keys: Keys
) -> None:
    response = firebase_client.post(URL, json={"id_token": id_token(keys)})
    assert response.status_code == 200, response.text
    tokens = response.json()
    me = firebase_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "fire.student@example.com"
    assert me.json()["role"] == "student"
    with session_scope() as session:
        user = session.execute(select(User)).scalar_one()
        assert user.email_verified_at is not None
        assert user.full_name == "Fire Student"


def test_existing_account_is_matched_by_email(
    firebase_client: TestClient, keys: Keys, make_user: Callable[..., Any]
) -> None:
    make_user(role="instructor", email="teacher@example.com")
    response = firebase_client.post(
        URL, json={"id_token": id_token(keys, email="Teacher@Example.com")}
    )
    assert response.status_code == 200
    me = firebase_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.json()["role"] == "instructor"


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-project"},
        {"iss": "https://securetoken.google.com/another-project"},
        {"iss": "https://accounts.google.com"},
        {"exp": int(time.time()) - 120},
        {"iat": int(time.time()) + 3600},
        {"auth_time": int(time.time()) + 3600},
        {"auth_time": None},
        {"sub": ""},
        {"sub": "x" * 129},
    ],
    ids=[
        "audience",
        "issuer",
        "other-issuer",
        "expired",
        "future-iat",
        "future-auth",
        "no-auth",
        "empty-sub",
        "long-sub",
    ],
)
def test_tokens_breaking_a_rule_are_refused(
    firebase_client: TestClient, keys: Keys, overrides: dict[str, Any]
) -> None:
    response = firebase_client.post(URL, json={"id_token": id_token(keys, **overrides)})
    assert response.status_code == 401
    assert response.json()["code"] == "firebase_token_invalid"
    with session_scope() as session:
        assert session.execute(select(User)).first() is None


def test_a_token_signed_by_an_unpublished_key_is_refused(
    firebase_client: TestClient, keys: Keys
) -> None:
    keys.add("attacker", publish=False)
    assert (
        firebase_client.post(URL, json={"id_token": id_token(keys, "attacker")}).status_code == 401
    )
    # Claiming a published kid while signing with another key fails the signature check.
    forged = id_token(keys, "attacker")
    relabelled = jwt.encode(
        jwt.decode(forged, options={"verify_signature": False}),
        keys.private["attacker"],
        algorithm="RS256",
        headers={"kid": "key-1"},
    )
    assert firebase_client.post(URL, json={"id_token": relabelled}).status_code == 401


def test_algorithm_confusion_and_tampering_are_refused(
    firebase_client: TestClient, keys: Keys
) -> None:
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": "u",
        "iat": now,
        "exp": now + 600,
        "auth_time": now,
        "email": "x@example.com",
        "email_verified": True,
    }
    # HS256 keyed with the public certificate: the classic RS/HS confusion. PyJWT refuses
    # to build such a token, so it is assembled by hand.
    hs = _hand_signed({"alg": "HS256", "kid": "key-1"}, claims, keys.published["key-1"])
    assert firebase_client.post(URL, json={"id_token": hs}).status_code == 401
    unsigned = _hand_signed({"alg": "none", "kid": "key-1"}, claims, None)
    assert firebase_client.post(URL, json={"id_token": unsigned}).status_code == 401
    genuine = id_token(keys)
    header, payload, signature = genuine.split(".")
    body = json.loads(jwt.utils.base64url_decode(payload))
    body["email"] = "admin@example.com"
    tampered = ".".join(
        [header, jwt.utils.base64url_encode(json.dumps(body).encode()).decode(), signature]
    )
    assert firebase_client.post(URL, json={"id_token": tampered}).status_code == 401
    assert firebase_client.post(URL, json={"id_token": "not-a-jwt"}).status_code == 401


def test_unverified_email_is_refused(firebase_client: TestClient, keys: Keys) -> None:
    response = firebase_client.post(URL, json={"id_token": id_token(keys, email_verified=False)})
    assert response.status_code == 401
    assert response.json()["code"] == "firebase_email_unverified"
    no_email = firebase_client.post(URL, json={"id_token": id_token(keys, email=None)})
    assert no_email.status_code == 401


def test_inactive_and_mfa_accounts_are_refused(
    firebase_client: TestClient, keys: Keys, make_user: Callable[..., Any]
) -> None:
    make_user(email="gone@example.com", is_active=False)
    make_user(email="mfa@example.com", mfa_enabled=True, mfa_secret="JBSWY3DPEHPK3PXP")
    gone = firebase_client.post(URL, json={"id_token": id_token(keys, email="gone@example.com")})
    assert gone.status_code == 403
    mfa = firebase_client.post(URL, json={"id_token": id_token(keys, email="mfa@example.com")})
    assert mfa.status_code == 403
    assert mfa.json()["code"] == "mfa_required"


def test_certificates_are_cached_and_refetched_for_a_new_key(
    firebase_client: TestClient, keys: Keys, google: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        assert firebase_client.post(URL, json={"id_token": id_token(keys)}).status_code == 200
    assert len(google.requests) == 1
    # Google rotates keys: a token with a new kid makes one refetch (once the minimum
    # interval has passed), then verifies.
    keys.add("key-2")
    monkeypatch.setattr(firebase_core, "MIN_REFETCH_SECONDS", 0)
    assert firebase_client.post(URL, json={"id_token": id_token(keys, "key-2")}).status_code == 200
    assert len(google.requests) == 2


def test_unknown_kids_do_not_make_every_request_call_google(
    firebase_client: TestClient, keys: Keys, google: FakeServer
) -> None:
    keys.add("rogue", publish=False)
    for _ in range(5):
        firebase_client.post(URL, json={"id_token": id_token(keys, "rogue")})
    assert len(google.requests) == 1


def test_unreachable_certificates_answer_503(
    env: Callable[..., None], firebase_client: TestClient, keys: Keys
) -> None:
    firebase_core.reset_cache()
    env(FIREBASE_CERTS_URL="http://127.0.0.1:1/certs")
    response = firebase_client.post(URL, json={"id_token": id_token(keys)})
    assert response.status_code == 503


def test_disabled_firebase_answers_404(client: TestClient, keys: Keys) -> None:
    response = client.post(URL, json={"id_token": id_token(keys)})
    assert response.status_code == 404
    assert response.json()["code"] == "firebase_disabled"
