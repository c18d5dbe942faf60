"""Queries of the webhooks module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, or_, select, update
from sqlalchemy.orm import Session

from app.modules.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

_UNFINISHED = (DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value)


def endpoints_query() -> Select[WebhookEndpoint]:
    return select(WebhookEndpoint).order_by(WebhookEndpoint.created_at.desc())


def active_endpoints(db: Session) -> Sequence[WebhookEndpoint]:
    return db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True))).all()


def deliveries_query(endpoint_id: uuid.UUID, status: str | None) -> Select[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        statement = statement.where(WebhookDelivery.status == status)
    return statement.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)


def attempts_of(db: Session, delivery_id: uuid.UUID) -> Sequence[WebhookDeliveryAttempt]:
    return db.scalars(
        select(WebhookDeliveryAttempt)
        .where(WebhookDeliveryAttempt.delivery_id == delivery_id)
        .order_by(WebhookDeliveryAttempt.attempt_number)
    ).all()


def lock_delivery(db: Session, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    """The delivery, row-locked on PostgreSQL so two workers never log the same attempt."""
    return db.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    )


def _unclaimed(now: datetime) -> Any:
    return or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= now)


def claim_delivery(db: Session, delivery_id: uuid.UUID, *, now: datetime, until: datetime) -> bool:
    """Mark an unfinished, unclaimed delivery as held until `until`; False when it is finished
    or held. One conditional UPDATE, so of two concurrent claims exactly one wins."""
    result = db.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status.in_(_UNFINISHED),
            _unclaimed(now),
        )
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def take_overdue(
    db: Session, *, overdue_before: datetime, now: datetime, limit: int
) -> list[uuid.UUID]:
    """Unfinished, unclaimed deliveries due before `overdue_before` (oldest first), their due
    time moved to `now` in the same conditional UPDATE, so concurrent runs never take one
    twice."""
    overdue = (
        WebhookDelivery.status.in_(_UNFINISHED),
        WebhookDelivery.next_attempt_at < overdue_before,
        _unclaimed(now),
    )
    candidates = db.scalars(
        select(WebhookDelivery.id)
        .where(*overdue)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    ).all()
    if not candidates:
        return []
    taken = db.scalars(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(candidates), *overdue)
        .values(next_attempt_at=now)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    return list(taken)
