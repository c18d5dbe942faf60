"""Queries on `notification_sends`: whether a scheduled email already went to a user for a
period, and claiming the send."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.modules.notifications.models import NotificationSend


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
