"""Concurrent duplicate webhooks, and reconciliations racing webhooks, on PostgreSQL: one
completion, one enrollment."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope
from app.modules.payments.models import PaymentEvent
from tests.modules.payments.factories import create_payment, fake_gateway_server
from tests.modules.payments.helpers import (
    STRIPE_WHSEC,
    count_enrollments,
    sandbox_webhook,
    stripe_event,
    stripe_session,
    stripe_signature,
)

HOOK = "/api/v1/payments/webhooks/sandbox"


def _race(app: Any, requests: list[tuple[str, bytes, dict[str, str]]]) -> list[int]:
    """POST every (url, body, headers) at once, each from its own client; the statuses."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(url: str, body: bytes, headers: dict[str, str]) -> None:
        with TestClient(app) as local:
            barrier.wait()
            response = local.post(url, content=body, headers=headers)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.postgres
def test_concurrent_duplicate_webhooks_activate_one_enrollment(
    app: Any, client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = client.post(
        "/api/v1/payments/create-payment-intent",
        json={"course_id": str(paid_course.id)},
        headers=auth_headers(student),
    ).json()
    same = sandbox_webhook(checkout, event_id="evt_same")
    # The same event six times, plus two distinct events reporting the same success.
    requests = [same] * 6 + [sandbox_webhook(checkout), sandbox_webhook(checkout)]
    statuses = _race(app, [(HOOK, body, headers) for body, headers in requests])
    assert statuses == [200] * len(requests)
    assert count_enrollments(student.id, paid_course.id) == 1
    # Three distinct events were stored; exactly one of them moved the payment.
    with session_scope() as session:
        moves = session.execute(
            select(PaymentEvent.from_status, PaymentEvent.to_status).where(
                PaymentEvent.payment_id == uuid.UUID(checkout["payment_id"]),
                PaymentEvent.source == "webhook",
            )
        ).all()
    assert len(moves) == 3
    assert sorted(tuple(m) for m in moves) == [
        ("completed", "completed"),
        ("completed", "completed"),
        ("pending", "completed"),
    ]


@pytest.mark.postgres
def test_reconciliation_racing_webhooks_completes_once(
    app: Any, env: Any, admin: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    with fake_gateway_server() as fake:
        env(
            STRIPE_SECRET_KEY="sk_test_123",
            STRIPE_WEBHOOK_SECRET=STRIPE_WHSEC,
            STRIPE_API_BASE=fake.url,
        )
        payment = create_payment(
            student,
            course=paid_course,
            gateway="stripe",
            status="pending",
            gateway_reference="cs_test_race",
        )
        paid = stripe_session("cs_test_race", str(payment.id), "paid")
        fake.routes[("GET", "/v1/checkout/sessions/cs_test_race")] = (200, paid)
        reconcile = (f"/api/v1/payments/{payment.id}/reconcile", b"", auth_headers(admin))
        hooks = []
        for _ in range(4):
            body = stripe_event("checkout.session.completed", paid)
            headers = {"Stripe-Signature": stripe_signature(body, STRIPE_WHSEC)}
            hooks.append(("/api/v1/payments/webhooks/stripe", body, headers))
        # Admin reconciliations and webhook deliveries of the same success, all at once.
        statuses = _race(app, [reconcile] * 4 + hooks)
    # A reconciliation that loads the payment after it completed is refused (409).
    assert set(statuses) <= {200, 409} and statuses.count(200) >= 5
    assert count_enrollments(student.id, paid_course.id) == 1
    with session_scope() as session:
        moves = session.scalar(
            select(func.count())
            .select_from(PaymentEvent)
            .where(
                PaymentEvent.payment_id == payment.id,
                PaymentEvent.from_status == "pending",
                PaymentEvent.to_status == "completed",
            )
        )
    assert moves == 1
