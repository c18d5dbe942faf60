"""Queries on `credential_signing_keys` and `credential_status_lists`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.modules.credentials.models import SigningKey, StatusList


def active_key(db: Session) -> SigningKey | None:
    return db.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.activated_at.desc(), SigningKey.id)
        .limit(1)
    )


def unretired_keys(db: Session) -> Sequence[SigningKey]:
    return db.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))).all()


def all_keys(db: Session) -> Sequence[SigningKey]:
    return db.scalars(select(SigningKey).order_by(SigningKey.activated_at, SigningKey.id)).all()


def key_by_kid(db: Session, kid: str) -> SigningKey | None:
    return db.scalar(select(SigningKey).where(SigningKey.kid == kid))


def get_status_list(db: Session, list_id: uuid.UUID, *, lock: bool = False) -> StatusList | None:
    statement = select(StatusList).where(StatusList.id == list_id)
    if lock:
        statement = statement.with_for_update()
    return db.scalar(statement)


def open_status_list(db: Session, purpose: str) -> StatusList | None:
    """The list with free indexes new credentials draw from, locked until commit so two
    issuers never take the same index."""
    return db.scalar(
        select(StatusList)
        .where(StatusList.purpose == purpose, StatusList.allocated_count < StatusList.length)
        .order_by(StatusList.created_at, StatusList.id)
        .limit(1)
        .with_for_update()
    )
