"""The platform's RS256 signing keys: the newest unretired key signs; every key that may still
have live tokens is published in the JWK set. Private keys are stored Fernet-encrypted under
MFA_SECRET_ENCRYPTION_KEYS, as TOTP secrets are."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.security import decrypt_mfa_secret, encrypt_mfa_secret
from app.modules.lti.models import LtiPlatformKey

ALGORITHM = "RS256"
# The longest-lived token the platform signs (a service access token), plus clock skew: a
# retired key stays published this long.
PUBLISH_RETIRED_FOR = timedelta(hours=1, minutes=5)


def _new_key() -> LtiPlatformKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = uuid.uuid4().hex
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    public_jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return LtiPlatformKey(
        kid=kid, private_key_ciphertext=encrypt_mfa_secret(pem), public_jwk=public_jwk
    )


def _current(db: Session) -> LtiPlatformKey | None:
    return db.scalar(
        select(LtiPlatformKey)
        .where(LtiPlatformKey.retired_at.is_(None))
        .order_by(LtiPlatformKey.created_at.desc(), LtiPlatformKey.kid)
        .limit(1)
    )


def signing_key(db: Session) -> LtiPlatformKey:
    """The key that signs now, made on first use."""
    key = _current(db)
    if key is None:
        key = _new_key()
        db.add(key)
        db.flush()
    return key


def rotate(db: Session, *, now: datetime | None = None) -> LtiPlatformKey:
    """Retire every signing key and make a new one, which signs from now on."""
    now = now or utcnow()
    for old in db.scalars(select(LtiPlatformKey).where(LtiPlatformKey.retired_at.is_(None))):
        old.retired_at = now
    key = _new_key()
    db.add(key)
    db.flush()
    return key


def published(db: Session, *, now: datetime | None = None) -> list[LtiPlatformKey]:
    """The signing key and the retired keys whose tokens may still be live."""
    cutoff = (now or utcnow()) - PUBLISH_RETIRED_FOR
    return list(
        db.scalars(
            select(LtiPlatformKey)
            .where(or_(LtiPlatformKey.retired_at.is_(None), LtiPlatformKey.retired_at > cutoff))
            .order_by(LtiPlatformKey.created_at.desc(), LtiPlatformKey.kid)
        )
    )


def jwks(db: Session) -> dict[str, list[dict[str, Any]]]:
    keys = published(db)
    if not keys:
        keys = [signing_key(db)]
    return {"keys": [key.public_jwk for key in keys]}


def _private_pem(key: LtiPlatformKey) -> str:
    pem, stale = decrypt_mfa_secret(key.private_key_ciphertext)
    if stale:
        key.private_key_ciphertext = encrypt_mfa_secret(pem)
    return pem


def sign(db: Session, claims: dict[str, Any]) -> str:
    key = signing_key(db)
    return jwt.encode(claims, _private_pem(key), algorithm=ALGORITHM, headers={"kid": key.kid})


def verify(
    db: Session, token: str, *, audience: str, issuer: str | None, required: list[str]
) -> dict[str, Any]:
    """Claims of a token this platform signed with a published key; raises jwt.InvalidTokenError."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != ALGORITHM:
        raise jwt.InvalidAlgorithmError("only RS256 is accepted")
    match = next((k for k in published(db) if k.kid == header.get("kid")), None)
    if match is None:
        raise jwt.InvalidKeyError("unknown key id")
    public = jwt.algorithms.RSAAlgorithm.from_jwk(match.public_jwk)
    claims: dict[str, Any] = jwt.decode(
        token,
        public,  # type: ignore[arg-type]
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=60,
        options={"require": required},
    )
    return claims
