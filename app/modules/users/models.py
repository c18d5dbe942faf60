"""The `users` table, and the access tokens signed out before their expiry."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey
from app.core.permissions import Role
from app.core.security import decrypt_mfa_secret, encrypt_mfa_secret


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    # Stored lower-cased, so the unique constraint is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.STUDENT.value, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    avatar_url: Mapped[str | None] = mapped_column(String(1000))
    bio: Mapped[str | None] = mapped_column(Text)
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Only ciphertext is stored, so a database dump or a read-only injection does not hand out
    # every second factor; the secret is read and written in clear through `mfa_secret`. The
    # column keeps its name so processes of the previous release still load users mid-deploy.
    mfa_secret_ciphertext: Mapped[str | None] = mapped_column("mfa_secret", String(255))
    # Counter of the last accepted TOTP time step, so a code cannot be replayed in its window.
    mfa_last_used_step: Mapped[int | None]
    email_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped when every outstanding token must die (password reset, deactivation).
    token_version: Mapped[int] = mapped_column(default=0)

    @property
    def mfa_secret(self) -> str | None:
        """The TOTP secret in clear; raises `UnreadableSecret` when no configured key opens it.

        A secret that an older key opened is re-encrypted under the current one (written with
        the next flush), so a retired key is needed only until each user's next sign-in."""
        if self.mfa_secret_ciphertext is None:
            return None
        secret, stale = decrypt_mfa_secret(self.mfa_secret_ciphertext)
        if stale:
            self.mfa_secret = secret
        return secret

    @mfa_secret.setter
    def mfa_secret(self, secret: str | None) -> None:
        self.mfa_secret_ciphertext = None if secret is None else encrypt_mfa_secret(secret)


class RevokedAccessToken(Base):
    """An access token signed out before its expiry (its `jti`), refused until then.

    Checked in the statement that reads the token's user, so a revocation survives any loss
    of Redis; rows past `expires_at` refuse nothing (the token has expired) and are cleaned up.
    """

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
