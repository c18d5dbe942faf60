"""Webhook tasks on the `webhooks` queue: fan an event out to endpoints, deliver one."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Task

from app.core.config import get_settings
from app.core.database import session_scope
from app.core.events import ALL_EVENTS, subscribe
from app.core.tasks import RETRY_POLICY, celery_app
from app.modules.webhooks import service


@celery_app.task(name="webhooks.dispatch", **RETRY_POLICY)
def dispatch_event(event_name: str, payload: dict[str, Any]) -> int:
    """Record one delivery per subscribed endpoint; each is sent after this commits."""
    with session_scope() as db:
        return len(service.record_event(db, event_name, payload))


@celery_app.task(name="webhooks.deliver", bind=True, max_retries=None)
def deliver_webhook(self: Task, delivery_id: str) -> str:
    retries = self.request.retries or 0
    # WEBHOOK_MAX_RETRIES counts attempts; the last one marks the delivery failed.
    final = retries + 1 >= max(get_settings().WEBHOOK_MAX_RETRIES, 1)
    outcome = service.attempt_delivery(uuid.UUID(delivery_id), retries=retries, final=final)
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


subscribe(ALL_EVENTS, dispatch_event)
