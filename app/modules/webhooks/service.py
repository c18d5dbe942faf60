"""Outgoing webhooks: endpoint management, recording events as deliveries, and delivering
them signed (see `signing.py` for the scheme receivers verify).

A delivery is attempted by the `webhooks.deliver` task; the HTTP call happens outside any
database transaction so a slow receiver never holds a connection or a lock.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.errors import BusinessRuleViolation, NotFound
from app.core.events import ALL_EVENTS
from app.core.pagination import PageParams, paginate
from app.core.tasks import MAX_COUNTDOWN_SECONDS, defer
from app.modules.users.models import User
from app.modules.webhooks import repository, signing
from app.modules.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from app.modules.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from app.modules.webhooks.ssrf import (
    UnresolvedTarget,
    UnsafeTarget,
    check_target,
    send_to_first_reachable,
    vetted_addresses,
)

logger = logging.getLogger("app.webhooks")

SIGNATURE_HEADER = "X-LMS-Signature"
# The events this application emits; endpoints may subscribe to any of them or to "*".
EVENT_TYPES = (
    "enrollment.created",
    "course.completed",
    "certificate.issued",
    "certificate.revoked",
    "payment.completed",
    "payment.refunded",
    "quiz.attempt.graded",
    "assignment.graded",
    "subscription.activated",
    "subscription.cancelled",
)
BACKOFF_BASE_SECONDS = 10
# A retry waits in a worker as a countdown, which may not outlast the broker's visibility
# timeout (see app/core/tasks.py).
BACKOFF_MAX_SECONDS = MAX_COUNTDOWN_SECONDS
EXCERPT_CHARS = 500


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _validate_url(url: str) -> None:
    try:
        check_target(url, allow_private=get_settings().webhooks_allow_private)
    except UnsafeTarget as exc:
        raise BusinessRuleViolation(str(exc), code="webhook_target_refused") from exc


# --- endpoints ----------------------------------------------------------------------------


def create_endpoint(db: Session, *, data: WebhookEndpointCreate, admin: User) -> WebhookEndpoint:
    url = str(data.url)
    _validate_url(url)
    endpoint = WebhookEndpoint(
        url=url,
        description=data.description,
        secret=_new_secret(),
        event_types=sorted(set(data.event_types)),
        is_active=data.is_active,
        created_by_id=admin.id,
    )
    db.add(endpoint)
    db.flush()
    return endpoint


def list_endpoints(db: Session, params: PageParams) -> tuple[list[WebhookEndpoint], int]:
    return paginate(db, repository.endpoints_query(), params)


def get_endpoint(db: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


def update_endpoint(
    db: Session, *, endpoint_id: uuid.UUID, data: WebhookEndpointUpdate
) -> WebhookEndpoint:
    endpoint = get_endpoint(db, endpoint_id)
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes:
        changes["url"] = str(changes["url"])
        _validate_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = sorted(set(changes["event_types"]))
    for field, value in changes.items():
        setattr(endpoint, field, value)
    db.flush()
    return endpoint


def rotate_secret(db: Session, *, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = get_endpoint(db, endpoint_id)
    endpoint.secret = _new_secret()
    db.flush()
    return endpoint


def delete_endpoint(db: Session, *, endpoint_id: uuid.UUID) -> None:
    db.delete(get_endpoint(db, endpoint_id))
    db.flush()


# --- deliveries ---------------------------------------------------------------------------


def list_deliveries(
    db: Session, *, endpoint_id: uuid.UUID, status: str | None, params: PageParams
) -> tuple[list[WebhookDelivery], int]:
    get_endpoint(db, endpoint_id)
    return paginate(db, repository.deliveries_query(endpoint_id, status), params)


def get_delivery(
    db: Session, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, list[WebhookDeliveryAttempt]]:
    delivery = db.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("Webhook delivery not found")
    return delivery, list(repository.attempts_of(db, delivery_id))


def _subscribed(endpoint: WebhookEndpoint, event_name: str) -> bool:
    return ALL_EVENTS in endpoint.event_types or event_name in endpoint.event_types


def record_event(db: Session, event_name: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """One delivery per active subscribed endpoint, each sent after the commit."""
    endpoints = [e for e in repository.active_endpoints(db) if _subscribed(e, event_name)]
    if not endpoints:
        return []
    event_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "id": event_id,
            "type": event_name,
            "created_at": utcnow().isoformat(),
            "data": payload,
        },
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )
    now = utcnow()
    deliveries = [
        WebhookDelivery(
            endpoint_id=e.id,
            event_id=event_id,
            event_type=event_name,
            body=body,
            next_attempt_at=now,
        )
        for e in endpoints
    ]
    db.add_all(deliveries)
    db.flush()
    _schedule(db, [d.id for d in deliveries])
    return deliveries


def redeliver(db: Session, *, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a past delivery's body again (same event id, fresh signature) as a new delivery."""
    original, _attempts = get_delivery(db, delivery_id)
    endpoint = get_endpoint(db, original.endpoint_id)
    if not endpoint.is_active:
        raise BusinessRuleViolation(
            "The endpoint is disabled; enable it before redelivering", code="endpoint_inactive"
        )
    copy = WebhookDelivery(
        endpoint_id=original.endpoint_id,
        event_id=original.event_id,
        event_type=original.event_type,
        body=original.body,
        redelivery_of_id=original.id,
        next_attempt_at=utcnow(),
    )
    db.add(copy)
    db.flush()
    _schedule(db, [copy.id])
    return copy


def _schedule(db: Session, delivery_ids: list[uuid.UUID]) -> None:
    from app.modules.webhooks.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        defer(db, deliver_webhook, str(delivery_id))


def redrive_overdue(db: Session, *, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Send again the unfinished deliveries due more than WEBHOOK_REDRIVE_AFTER_SECONDS ago
    that no attempt holds: their task was lost with a killed worker or an emptied broker.

    Each one's due time moves to `now`, so it is sent again at most once per period however
    often this runs; a copy that finds the delivery done or claimed does nothing.
    """
    overdue_before = now - timedelta(seconds=get_settings().WEBHOOK_REDRIVE_AFTER_SECONDS)
    ids = repository.take_overdue(db, overdue_before=overdue_before, now=now, limit=limit)
    if ids:
        logger.warning("re-driving %d overdue webhook deliveries", len(ids))
    _schedule(db, ids)
    return ids


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with full jitter: uniform in [base, min(cap, base * 2**retries)]."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**retries)
    return random.uniform(BACKOFF_BASE_SECONDS, max(ceiling, BACKOFF_BASE_SECONDS))


@dataclass(frozen=True)
class _Target:
    url: str
    secret: str
    body: str
    event_type: str
    event_id: str


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim_delivery(delivery_id: uuid.UUID) -> _Target | None:
    """Claim an unfinished delivery for one attempt, or None when it is finished or another
    attempt holds it. The claim lapses after WEBHOOK_REDRIVE_AFTER_SECONDS, by when the task
    holding it has been stopped (its time limit), so a killed worker never blocks it for good
    and two attempts never overlap."""
    now = utcnow()
    lease = timedelta(seconds=get_settings().WEBHOOK_REDRIVE_AFTER_SECONDS)
    with session_scope() as db:
        if not repository.claim_delivery(db, delivery_id, now=now, until=now + lease):
            return None
        delivery = db.get(WebhookDelivery, delivery_id)
        endpoint = db.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
        if delivery is None or endpoint is None:
            return None
        return _Target(
            url=endpoint.url,
            secret=endpoint.secret,
            body=delivery.body,
            event_type=delivery.event_type,
            event_id=delivery.event_id,
        )


def _post(target: _Target, delivery_id: uuid.UUID) -> _Result:
    settings = get_settings()
    started = time.monotonic()
    try:
        # Resolved again at send time: the endpoint's DNS may have changed since creation.
        addresses = vetted_addresses(target.url, allow_private=settings.webhooks_allow_private)
    except UnresolvedTarget as exc:
        return _Result(None, f"DNS lookup failed: {exc}", None, 0)  # retried like a connect error
    except UnsafeTarget as exc:
        return _Result(None, f"target refused: {exc}", None, 0)
    body = target.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"{settings.PROJECT_NAME} webhooks",
        "X-LMS-Event": target.event_type,
        "X-LMS-Event-Id": target.event_id,
        "X-LMS-Delivery": str(delivery_id),
        SIGNATURE_HEADER: signing.sign(target.secret, body),
    }
    try:
        # Redirects are not followed: a redirect could point at an internal address. An explicit
        # transport keeps environment proxies out, as a proxy would resolve the name itself.
        with httpx.Client(
            transport=httpx.HTTPTransport(),
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        ) as client:
            response = send_to_first_reachable(
                client, "POST", httpx.URL(target.url), addresses, headers=headers, content=body
            )
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return _Result(None, f"{type(exc).__name__}: {exc}"[:1000], None, elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    return _Result(response.status_code, None, response.text[:EXCERPT_CHARS], elapsed)


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded, failed, retry or skipped
    retry_in: float = 0.0


def attempt_delivery(delivery_id: uuid.UUID) -> Outcome:
    """Try one delivery and log the attempt; says whether (and when) to try again.
    WEBHOOK_MAX_RETRIES counts attempts: the last one marks the delivery failed."""
    target = claim_delivery(delivery_id)
    if target is None:
        return Outcome("skipped")
    result = _post(target, delivery_id)
    refused = result.error is not None and result.error.startswith("target refused")
    with session_scope() as db:
        delivery = repository.lock_delivery(db, delivery_id)
        if delivery is None:
            return Outcome("skipped")
        delivery.attempts_count += 1
        delivery.claimed_until = None
        db.add(
            WebhookDeliveryAttempt(
                delivery_id=delivery.id,
                attempt_number=delivery.attempts_count,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
                response_excerpt=result.excerpt,
            )
        )
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        if result.ok:
            delivery.status = DeliveryStatus.SUCCEEDED.value
            delivery.delivered_at = utcnow()
            delivery.next_attempt_at = None
            return Outcome("succeeded")
        if refused or delivery.attempts_count >= max(get_settings().WEBHOOK_MAX_RETRIES, 1):
            delivery.status = DeliveryStatus.FAILED.value
            delivery.next_attempt_at = None
            logger.warning("webhook delivery %s failed for good", delivery_id)
            return Outcome("failed")
        delay = backoff_seconds(delivery.attempts_count - 1)
        delivery.status = DeliveryStatus.RETRYING.value
        delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
        return Outcome("retry", delay)
