"""Queries on refresh tokens, revoked access tokens, single-use tokens and recovery codes.

Consuming a token is one conditional UPDATE whose row count says whether this request won:
two concurrent requests presenting the same token cannot both succeed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.modules.auth.models import MFARecoveryCode, OneTimeToken, RefreshToken
from app.modules.users.models import RevokedAccessToken


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def add_refresh_token(
    session: Session,
    *,
    token_id: uuid.UUID,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    token_hash: str,
    expires_at: datetime,
) -> RefreshToken:
    row = RefreshToken(
        id=token_id,
        user_id=user_id,
        family_id=family_id,
        token_hash=token_hash,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def get_refresh_token(session: Session, token_hash: str) -> RefreshToken | None:
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))


def consume_refresh_token(session: Session, token_id: uuid.UUID) -> bool:
    result = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.consumed_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(consumed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def revoke_family(session: Session, family_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def revoke_user_refresh_tokens(session: Session, user_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def revoke_access_token(
    session: Session, *, jti: str, user_id: uuid.UUID, expires_at: datetime
) -> None:
    """Record a signed-out access token (merge: signing out twice is not an error)."""
    session.merge(RevokedAccessToken(jti=jti, user_id=user_id, expires_at=expires_at))
    session.flush()


def delete_expired_tokens(session: Session, *, now: datetime) -> dict[str, int]:
    """Delete refresh, revoked-access and one-time token rows past their expiry: each is
    refused anyway (reuse detection included), so nothing is lost."""
    return {
        name: _rowcount(session.execute(delete(model).where(model.expires_at < now)))
        for name, model in (
            ("refresh_tokens", RefreshToken),
            ("revoked_access_tokens", RevokedAccessToken),
            ("one_time_tokens", OneTimeToken),
        )
    }


def add_one_time_token(
    session: Session, *, user_id: uuid.UUID, purpose: str, token_hash: str, expires_at: datetime
) -> OneTimeToken:
    row = OneTimeToken(
        user_id=user_id, purpose=purpose, token_hash=token_hash, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    return row


def get_one_time_token(session: Session, *, token_hash: str, purpose: str) -> OneTimeToken | None:
    return session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.token_hash == token_hash, OneTimeToken.purpose == purpose
        )
    )


def consume_one_time_token(session: Session, token_id: uuid.UUID) -> bool:
    result = session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.id == token_id,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def expire_one_time_tokens(session: Session, *, user_id: uuid.UUID, purpose: str) -> None:
    """Mark every outstanding token of this purpose used (a newer one superseded them)."""
    session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def replace_recovery_codes(session: Session, *, user_id: uuid.UUID, code_hashes: list[str]) -> None:
    delete_recovery_codes(session, user_id)
    session.add_all(MFARecoveryCode(user_id=user_id, code_hash=h) for h in code_hashes)
    session.flush()


def delete_recovery_codes(session: Session, user_id: uuid.UUID) -> None:
    session.execute(delete(MFARecoveryCode).where(MFARecoveryCode.user_id == user_id))


def consume_recovery_code(session: Session, *, user_id: uuid.UUID, code_hash: str) -> bool:
    result = session.execute(
        update(MFARecoveryCode)
        .where(
            MFARecoveryCode.user_id == user_id,
            MFARecoveryCode.code_hash == code_hash,
            MFARecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def count_unused_recovery_codes(session: Session, user_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(MFARecoveryCode)
            .where(MFARecoveryCode.user_id == user_id, MFARecoveryCode.used_at.is_(None))
        )
        or 0
    )
