"""Queries of the webhooks module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.modules.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint


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
