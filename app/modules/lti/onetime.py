"""One-time values (login hints, nonces, client assertion ids): each is accepted once, and
remembered until it would have expired anyway."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import Unauthorized
from app.modules.lti.models import LtiUsedToken


def consume(db: Session, *, key: str, expires_at: datetime, what: str) -> None:
    """Record `key` as used, or refuse it (Unauthorized) when it was used before."""
    try:
        with db.begin_nested():
            db.add(LtiUsedToken(key=key[:300], expires_at=expires_at))
    except IntegrityError as exc:
        raise Unauthorized(f"The {what} was already used", code="lti_replay") from exc


def delete_expired(db: Session, *, now: datetime) -> int:
    result = db.execute(delete(LtiUsedToken).where(LtiUsedToken.expires_at < now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
