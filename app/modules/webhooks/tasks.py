"""Webhook tasks on the `webhooks` queue: fan an event out to endpoints, deliver one, and
re-drive deliveries whose task was lost (beat job)."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Task

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.events import ALL_EVENTS, subscribe
from app.core.schedule import every
from app.core.tasks import RETRY_POLICY, TASK_TIME_LIMIT_SECONDS, celery_app
from app.modules.webhooks import service


@celery_app.task(name="webhooks.dispatch", **RETRY_POLICY)
def dispatch_event(event_name: str, payload: dict[str, Any]) -> int:
    """Record one delivery per subscribed endpoint; each is sent after this commits."""
    with session_scope() as db:
        return len(service.record_event(db, event_name, payload))


@celery_app.task(
    name="webhooks.deliver",
    bind=True,
    max_retries=None,
    # Stopped before its claim on the delivery lapses, so two attempts never overlap.
    time_limit=min(TASK_TIME_LIMIT_SECONDS, get_settings().WEBHOOK_REDRIVE_AFTER_SECONDS),
)
def deliver_webhook(self: Task, delivery_id: str) -> str:
    outcome = service.attempt_delivery(uuid.UUID(delivery_id))
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@celery_app.task(name="webhooks.redrive_overdue", **RETRY_POLICY)
def redrive_overdue_job() -> int:
    with session_scope() as db:
        return len(service.redrive_overdue(db, now=utcnow()))


subscribe(ALL_EVENTS, dispatch_event)
every("redrive-webhook-deliveries", redrive_overdue_job, setting="WEBHOOK_REDRIVE_CRON")
