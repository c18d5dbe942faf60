"""Password hashing (argon2id, verifying and upgrading old bcrypt hashes), JWTs and the
encryption of TOTP secrets at rest."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from app.core.config import get_settings
from app.core.errors import ServiceUnavailable, Unauthorized

logger = logging.getLogger("app.security")

# bcrypt refuses more than 72 bytes; argon2 has no such limit but one cap keeps rules simple.
PASSWORD_MAX_BYTES = 72

# argon2id at OWASP's first recommended setting (m=19 MiB, t=2, p=1): a worker holds
# 19 MiB per hash in flight instead of the library default's 64 MiB, and the memory budget
# below bounds how many run at once. A stored hash with other parameters (the old default
# included) verifies as before and is rewritten with these on that sign-in.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
_ARGON2_MEMORY = re.compile(r"^\$argon2[a-z]*\$(?:v=\d+\$)?m=(\d+),")

_password_hash = PasswordHash(
    (
        Argon2Hasher(
            time_cost=ARGON2_TIME_COST,
            memory_cost=ARGON2_MEMORY_KIB,
            parallelism=ARGON2_PARALLELISM,
        ),
        BcryptHasher(),
    )
)


class _MemoryBudget:
    """Bounds the memory the password hashes running at once in this process may use: a
    hash waits until its memory fits (up to `PASSWORD_HASHING_QUEUE_SECONDS`), then the
    request answers 503 with Retry-After rather than grow the worker without bound."""

    def __init__(self) -> None:
        self._used = 0
        self._condition = threading.Condition()

    @contextmanager
    def reserve(self, kib: int) -> Iterator[None]:
        settings = get_settings()
        capacity = settings.PASSWORD_HASHING_MEMORY_MB * 1024
        kib = min(kib, capacity)  # a hash larger than the budget still runs, alone
        with self._condition:
            if not self._condition.wait_for(
                lambda: self._used + kib <= capacity,
                timeout=settings.PASSWORD_HASHING_QUEUE_SECONDS,
            ):
                raise ServiceUnavailable(
                    "The server is busy signing other people in; try again shortly",
                    code="password_hashing_busy",
                    headers={"Retry-After": "1"},
                )
            self._used += kib
        try:
            yield
        finally:
            with self._condition:
                self._used -= kib
                self._condition.notify_all()


_budget = _MemoryBudget()


def _hash_memory_kib(password_hash: str) -> int:
    match = _ARGON2_MEMORY.match(password_hash)
    return int(match.group(1)) if match else 0  # bcrypt needs a few KiB


def _return_large_allocations_to_the_system() -> None:
    """Serve argon2's blocks with mmap, so their memory goes back to the system when a hash
    ends. glibc's threshold otherwise rises to the size of the first freed block, and later
    blocks come from per-thread heaps that keep it: a burst of sign-ins left hundreds of MB
    held per worker."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
_return_large_allocations_to_the_system()
# Verifying against this when the email is unknown makes both paths cost the same.
_DUMMY_HASH = _password_hash.hash("dummy-password-for-constant-time")


def hash_password(password: str) -> str:
    with _budget.reserve(ARGON2_MEMORY_KIB):
        return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(valid, new_hash): new_hash is set when the stored hash should be upgraded (another
    algorithm or other argon2 parameters); the caller stores it."""
    if not password_hash:
        with _budget.reserve(ARGON2_MEMORY_KIB):
            _password_hash.verify(password, _DUMMY_HASH)
        return False, None
    # An upgrade hashes anew (with the current parameters) under the same reservation.
    with _budget.reserve(max(_hash_memory_kib(password_hash), ARGON2_MEMORY_KIB)):
        try:
            return _password_hash.verify_and_update(password, password_hash)
        except Exception:  # an unparseable stored hash is a failed login, never a 500
            logger.warning("stored password hash could not be verified")
            return False, None


def password_too_long(password: str) -> bool:
    return len(password.encode("utf-8")) > PASSWORD_MAX_BYTES


def hash_token(token: str) -> str:
    """Digest under which opaque tokens (refresh, reset, recovery codes) are stored.

    These tokens carry enough entropy that a fast hash is safe; a leaked table still
    cannot be replayed.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_equal(left: str, right: str) -> bool:
    """Constant-time comparison of two signatures or tokens, as UTF-8 bytes: any text (a
    non-ASCII value sent by a client) compares unequal instead of raising. Every signature
    and token check goes through here."""
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))


def purpose_digest(purpose: str, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under a key derived from the signing key for `purpose` alone,
    so a value signed for one use (a download link, a certificate) never verifies as another."""
    key = hmac.new(get_settings().signing_key.encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, message, hashlib.sha256).digest()


class UnreadableSecret(Exception):
    """Stored ciphertext that none of the configured keys opens (a removed or wrong key, or an
    altered value)."""


def encrypt_mfa_secret(secret: str) -> str:
    """Fernet (AES-CBC with HMAC-SHA256) ciphertext of a TOTP secret under the first key."""
    key = get_settings().mfa_encryption_keys[0]
    return Fernet(key).encrypt(secret.encode()).decode()


def decrypt_mfa_secret(ciphertext: str) -> tuple[str, bool]:
    """(secret, stale): stale when an older key of the list opened it, so the caller can
    re-encrypt it under the current key. Raises `UnreadableSecret` when no key does.

    MultiFernet tries the same keys in the same order but cannot say which one matched."""
    for position, key in enumerate(get_settings().mfa_encryption_keys):
        try:
            return Fernet(key).decrypt(ciphertext).decode(), position > 0
        except InvalidToken:
            continue
    raise UnreadableSecret("no key of MFA_SECRET_ENCRYPTION_KEYS opens this value")


class TokenType:
    ACCESS = "access"
    REFRESH = "refresh"
    MFA_CHALLENGE = "mfa_challenge"


def create_token(
    *,
    subject: str,
    token_type: str,
    expires_in: timedelta,
    claims: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    settings = get_settings()
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": subject,
        "typ": token_type,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + expires_in).timestamp()),
    }
    if claims:
        payload.update(claims)
    token = jwt.encode(payload, settings.signing_key, algorithm=settings.ALGORITHM)
    return token, payload


def create_access_token(
    *, user_id: uuid.UUID, role: str, token_version: int = 0
) -> tuple[str, dict[str, Any]]:
    """`ver` ties the token to the user's token_version: bumping it kills every token."""
    minutes = get_settings().ACCESS_TOKEN_EXPIRE_MINUTES
    return create_token(
        subject=str(user_id),
        token_type=TokenType.ACCESS,
        expires_in=timedelta(minutes=minutes),
        claims={"role": role, "ver": token_version},
    )


def create_refresh_token(
    *, user_id: uuid.UUID, token_id: uuid.UUID, family_id: uuid.UUID, token_version: int
) -> tuple[str, dict[str, Any]]:
    """A refresh JWT whose `jti` is the id of its `refresh_tokens` row."""
    return create_token(
        subject=str(user_id),
        token_type=TokenType.REFRESH,
        expires_in=timedelta(days=get_settings().REFRESH_TOKEN_EXPIRE_DAYS),
        claims={"jti": token_id.hex, "fam": family_id.hex, "ver": token_version},
    )


@lru_cache(maxsize=8192)
def _verified_claims(token: str, key: str, algorithm: str) -> Mapping[str, Any]:
    """Signature and claim checks for one token string. Only successes are cached (an
    exception is never memoized), so a hit is a token this key already verified; expiry is
    re-checked on every use by `decode_token`."""
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[algorithm],
        options={"require": ["exp", "iat", "sub", "typ", "jti"]},
    )
    return MappingProxyType(claims)


def decode_token(token: str, *, expected_type: str) -> dict[str, Any]:
    """Verify signature (with the one configured algorithm), expiry and token type."""
    settings = get_settings()
    try:
        payload = dict(_verified_claims(token, settings.signing_key, settings.ALGORITHM))
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Token is invalid", code="token_invalid") from exc
    if payload["exp"] <= time.time():
        raise Unauthorized("Token has expired", code="token_expired")
    if payload.get("typ") != expected_type:
        raise Unauthorized("Token is of the wrong type", code="token_invalid")
    return payload
