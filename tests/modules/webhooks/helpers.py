"""Webhook rows for tests: created directly, read back as committed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.core.database import session_scope, utcnow
from app.modules.webhooks.models import WebhookDelivery, WebhookEndpoint


def create_delivery(url: str, *, due_minutes_ago: float = 0, **fields: Any) -> uuid.UUID:
    """A delivery to a new endpoint at `url`, due `due_minutes_ago` minutes ago."""
    with session_scope() as session:
        endpoint = WebhookEndpoint(url=url, secret="whsec_test", event_types=["*"])
        session.add(endpoint)
        session.flush()
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=uuid.uuid4().hex,
            event_type="course.completed",
            body="{}",
            next_attempt_at=utcnow() - timedelta(minutes=due_minutes_ago),
            **fields,
        )
        session.add(delivery)
        session.flush()
        return delivery.id


def stored_delivery(delivery_id: uuid.UUID) -> WebhookDelivery:
    """The delivery as committed now, detached from its session."""
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        session.expunge(delivery)
        return delivery
