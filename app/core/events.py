"""Domain events: `emit()` inside a transaction, subscribers (Celery tasks) run after commit.

A subscriber is a task taking `(event_name, payload)`. Subscribing to "*" receives every
event (outgoing webhooks do this).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from celery import Task
from sqlalchemy.orm import Session

from app.core.database import after_commit
from app.core.metrics import BUSINESS_EVENTS
from app.core.tasks import defer

ALL_EVENTS = "*"

_subscribers: dict[str, list[Task]] = defaultdict(list)


def subscribe(event_name: str, task: Task) -> None:
    if task not in _subscribers[event_name]:
        _subscribers[event_name].append(task)


def subscribers(event_name: str) -> list[Task]:
    return [*_subscribers.get(event_name, []), *_subscribers.get(ALL_EVENTS, [])]


def emit(session: Session, event_name: str, payload: dict[str, Any]) -> None:
    """Publish `event_name` when `session` commits. Payload values must be JSON-safe."""
    # Counted only once committed: a rolled-back enrollment is not an enrollment.
    after_commit(session, BUSINESS_EVENTS.labels(event_name).inc)
    for task in subscribers(event_name):
        defer(session, task, event_name, payload)
