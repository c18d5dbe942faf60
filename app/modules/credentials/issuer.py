"""The issuer's identity: its did:web DID, its Ed25519 keys (rotated, never unpublished), its
DID document and JWKS, and the VC-JOSE signature (a compact JWS, `typ: vc+jwt`) it puts on a
credential.

did:web maps the DID `did:web:<host>` (a port percent-encoded as `%3A`) to
`https://<host>/.well-known/did.json`; the host is that of PUBLIC_BASE_URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.security import decrypt_mfa_secret, encrypt_mfa_secret
from app.modules.credentials import repository
from app.modules.credentials.models import SigningKey

ALGORITHM = "EdDSA"
MEDIA_TYPE = "application/vc+jwt"
JOSE_TYPE = "vc+jwt"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://www.w3.org/ns/cid/v1"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def did() -> str:
    """`did:web:` + the public host, with a port percent-encoded as did:web requires."""
    parts = urlsplit(get_settings().PUBLIC_BASE_URL)
    host = (parts.hostname or "localhost").lower()
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"did:web:{quote(host, safe='')}"


def key_url(kid: str) -> str:
    """The DID URL of a verification method (the JWS `kid`)."""
    return f"{did()}#{kid}"


def base_url() -> str:
    settings = get_settings()
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{settings.API_V1_PREFIX}"


def issuer_profile() -> dict[str, Any]:
    """The Open Badges issuer Profile; its id is the DID whose document holds the keys."""
    settings = get_settings()
    return {
        "id": did(),
        "type": ["Profile"],
        "name": settings.PROJECT_NAME,
        "url": settings.PUBLIC_BASE_URL.rstrip("/"),
    }


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    required = {name: public_jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def _public_jwk(public_key: Ed25519PublicKey) -> dict[str, Any]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def _new_key(db: Session) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    public_jwk = _public_jwk(private_key.public_key())
    key = SigningKey(
        kid=_thumbprint(public_jwk),
        algorithm=ALGORITHM,
        public_jwk=public_jwk,
        private_key_ciphertext=encrypt_mfa_secret(_b64url(raw)),
        activated_at=utcnow(),
    )
    db.add(key)
    db.flush()
    return key


def signing_key(db: Session) -> SigningKey:
    """The key that signs now; the first one is made on first use."""
    return repository.active_key(db) or _new_key(db)


def rotate_key(db: Session) -> SigningKey:
    """Sign with a new key from now on. Retired keys stay published for verification."""
    now = utcnow()
    for key in repository.unretired_keys(db):
        key.retired_at = now
    return _new_key(db)


def _private_key(key: SigningKey) -> Ed25519PrivateKey:
    encoded, stale = decrypt_mfa_secret(key.private_key_ciphertext)
    if stale:
        # Opened by an older at-rest key: stored again under the current one.
        key.private_key_ciphertext = encrypt_mfa_secret(encoded)
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(key: SigningKey) -> Ed25519PublicKey:
    x = str(key.public_jwk["x"])
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


def sign(db: Session, claims: dict[str, Any]) -> str:
    """The compact JWS of a credential (VC-JOSE: the credential is the JWT claims set)."""
    key = signing_key(db)
    return jwt.encode(
        claims,
        _private_key(key),
        algorithm=ALGORITHM,
        headers={"kid": key_url(key.kid), "typ": JOSE_TYPE, "cty": "vc"},
    )


def _verification_method(key: SigningKey) -> dict[str, Any]:
    return {
        "id": key_url(key.kid),
        "type": "JsonWebKey",
        "controller": did(),
        "publicKeyJwk": dict(key.public_jwk),
    }


def did_document(db: Session) -> dict[str, Any]:
    """Every key ever used, as JsonWebKey verification methods usable for assertions."""
    keys = repository.all_keys(db) or [signing_key(db)]
    return {
        "@context": DID_CONTEXTS,
        "id": did(),
        "verificationMethod": [_verification_method(key) for key in keys],
        "assertionMethod": [key_url(key.kid) for key in keys],
    }


def jwks(db: Session) -> dict[str, Any]:
    keys = repository.all_keys(db) or [signing_key(db)]
    return {
        "keys": [
            {**key.public_jwk, "kid": key_url(key.kid), "alg": key.algorithm, "use": "sig"}
            for key in keys
        ]
    }
