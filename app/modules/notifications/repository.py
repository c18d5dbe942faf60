"""Queries of the notification inbox and preferences, and of `notification_sends` (whether a
scheduled email already went to a user for a period, and claiming the send)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.modules.notifications.models import Notification, NotificationPreference, NotificationSend


def inbox_query(user_id: uuid.UUID, *, unread_only: bool) -> Select[Notification]:
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(db: Session, user_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(
    db: Session, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None, now: datetime
) -> int:
    """Mark the user's unread notifications (all, or those of `ids`) read; ids of other
    users' notifications match nothing. Returns how many changed."""
    statement = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    result = db.execute(statement.values(read_at=now).execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def preferences(
    db: Session, user_ids: Sequence[uuid.UUID], category: str | None = None
) -> Sequence[NotificationPreference]:
    statement = select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
    if category is not None:
        statement = statement.where(NotificationPreference.category == category)
    return db.scalars(statement).all()


def not_sent(job: str, user_id: Any, period: str) -> Any:
    """SQL condition: `job` has not gone to the user `user_id` (a column) for `period`."""
    return ~exists().where(
        NotificationSend.job == job,
        NotificationSend.user_id == user_id,
        NotificationSend.period == period,
    )


def claim_send(db: Session, *, job: str, user_id: uuid.UUID, period: str) -> bool:
    """Claim (job, user, period); False when another run already has it."""
    try:
        with db.begin_nested():
            db.add(NotificationSend(job=job, user_id=user_id, period=period))
            db.flush()
    except IntegrityError:
        return False
    return True
