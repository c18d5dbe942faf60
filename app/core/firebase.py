"""Firebase ID-token verification (the checks Firebase documents for third-party JWT
libraries), with Google's signing certificates fetched over HTTPS and cached.

A token is accepted only when: the header says RS256 and names a key (`kid`) Google publishes
at `FIREBASE_CERTS_URL`; the signature verifies with that key; `aud` is `FIREBASE_PROJECT_ID`;
`iss` is `https://securetoken.google.com/<project>`; `exp` is in the future and `iat` and
`auth_time` are in the past; `sub` (the Firebase uid) is a non-empty string of at most 128
characters.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography import x509

from app.core.config import get_settings
from app.core.errors import NotFound, ServiceUnavailable, Unauthorized

ISSUER_PREFIX = "https://securetoken.google.com/"
DEFAULT_MAX_AGE_SECONDS = 3600
# An unknown `kid` triggers a refetch (Google rotates keys), at most this often, so forged
# tokens with random kids cannot make every request call Google.
MIN_REFETCH_SECONDS = 60
CLOCK_SKEW_SECONDS = 30
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass(frozen=True)
class FirebaseIdentity:
    uid: str
    email: str | None
    email_verified: bool
    name: str | None


@dataclass
class _Certificates:
    url: str
    keys: dict[str, Any]
    expires_at: float
    fetched_at: float


_lock = threading.Lock()
_cached: _Certificates | None = None


def reset_cache() -> None:
    global _cached
    with _lock:
        _cached = None


def _invalid() -> Unauthorized:
    # One answer for every failed check: a forger learns nothing about which one failed.
    return Unauthorized("The Firebase ID token is not valid", code="firebase_token_invalid")


def _fetch(url: str) -> _Certificates:
    try:
        response = httpx.get(url, timeout=5.0)
        response.raise_for_status()
        certificates = response.json()
        keys = {
            kid: x509.load_pem_x509_certificate(pem.encode()).public_key()
            for kid, pem in certificates.items()
        }
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise ServiceUnavailable(
            "Firebase signing keys could not be fetched", code="firebase_keys_unavailable"
        ) from exc
    match = _MAX_AGE.search(response.headers.get("cache-control", ""))
    max_age = int(match.group(1)) if match else DEFAULT_MAX_AGE_SECONDS
    now = time.monotonic()
    return _Certificates(url=url, keys=keys, expires_at=now + max_age, fetched_at=now)


def signing_key(kid: str) -> Any:
    """The public key for `kid`, from the cache while Google's Cache-Control allows."""
    global _cached
    url = get_settings().FIREBASE_CERTS_URL
    with _lock:
        now = time.monotonic()
        cached = _cached
        if (
            cached is None
            or cached.url != url
            or now >= cached.expires_at
            or (kid not in cached.keys and now - cached.fetched_at >= MIN_REFETCH_SECONDS)
        ):
            cached = _cached = _fetch(url)
        key = cached.keys.get(kid)
    if key is None:
        raise _invalid()
    return key


def verify_id_token(token: str) -> FirebaseIdentity:
    settings = get_settings()
    if not settings.FIREBASE_ENABLED or not settings.FIREBASE_PROJECT_ID:
        raise NotFound("Firebase sign-in is not enabled", code="firebase_disabled")
    project = settings.FIREBASE_PROJECT_ID
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _invalid() from exc
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str):
        raise _invalid()
    key = signing_key(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=project,
            issuer=ISSUER_PREFIX + project,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "aud", "iss", "sub", "auth_time"]},
        )
    except jwt.PyJWTError as exc:
        raise _invalid() from exc
    uid = claims["sub"]
    auth_time = claims["auth_time"]
    if not isinstance(uid, str) or not 0 < len(uid) <= 128:
        raise _invalid()
    if not isinstance(auth_time, int | float) or auth_time > time.time() + CLOCK_SKEW_SECONDS:
        raise _invalid()
    return FirebaseIdentity(
        uid=uid,
        email=claims.get("email"),
        email_verified=claims.get("email_verified") is True,
        name=claims.get("name"),
    )
