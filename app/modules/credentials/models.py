"""The issuer's signing keys and its revocation status lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey


class SigningKey(UUIDPrimaryKey, Timestamps, Base):
    """An Ed25519 key pair of the issuer. The newest unretired key signs; every key stays
    published (DID document, JWKS) so what it signed before a rotation still verifies."""

    __tablename__ = "credential_signing_keys"
    __table_args__ = (Index("ix_credential_signing_keys_activated_at", "activated_at"),)

    # The RFC 7638 thumbprint of the public key: the fragment of its DID URL.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Fernet ciphertext under the at-rest keys that also protect TOTP secrets.
    private_key_ciphertext: Mapped[str] = mapped_column(Text)
    activated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class StatusList(UUIDPrimaryKey, Timestamps, Base):
    """One W3C Bitstring Status List: bit `i` (most significant bit of byte i // 8 first)
    is set when the credential holding index `i` has the list's purpose (revoked)."""

    __tablename__ = "credential_status_lists"
    __table_args__ = (
        Index("ix_credential_status_lists_purpose_created_at", "purpose", "created_at"),
    )

    purpose: Mapped[str] = mapped_column(String(20))
    length: Mapped[int] = mapped_column(Integer)
    # How many indexes credentials hold, and which (bit i set: index i is taken). Indexes
    # are drawn at random, so the list published says nothing of how many were issued.
    allocated_count: Mapped[int] = mapped_column(Integer, default=0)
    allocated: Mapped[bytes] = mapped_column(LargeBinary)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
