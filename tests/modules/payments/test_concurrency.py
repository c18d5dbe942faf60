"""Concurrent duplicate webhooks on PostgreSQL: one completion, one enrollment."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.database import session_scope
from app.modules.payments.models import PaymentEvent
from tests.modules.payments.helpers import count_enrollments, sandbox_webhook

HOOK = "/api/v1/payments/webhooks/sandbox"


def _race(app: Any, requests: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(body: bytes, headers: dict[str, str]) -> None:
        with TestClient(app) as local:
            barrier.wait()
            response = local.post(HOOK, content=body, headers=headers)
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
    statuses = _race(app, requests)
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
