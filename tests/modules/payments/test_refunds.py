"""Admin refunds: claimed before the gateway is called, so concurrent requests refund once;
a refused refund leaves the payment, its access and its audit trail as they were."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope, utcnow
from app.modules.payments.models import PaymentEvent
from app.modules.payments.services.refunds import STALE_CLAIM_AGE
from tests.modules.payments.factories import FakeGateway, create_enrollment, create_payment
from tests.modules.payments.helpers import (
    count_enrollments,
    event_types,
    payment_row,
)

REFUNDS = "/v1/refunds"
REFUNDED = {"id": "re_1", "object": "refund", "status": "succeeded"}


@pytest.fixture
def bought(student: Any, paid_course: Any, stripe_env: FakeGateway) -> Any:
    """A completed Stripe payment for the paid course, and the enrollment it bought."""
    create_enrollment(student, paid_course)
    return create_payment(
        student, course=paid_course, gateway="stripe", transaction_id="pi_3TestIntent"
    )


@pytest.fixture
def admin_headers(admin: Any, auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers(admin))


def _refund(client: Any, payment: Any, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/payments/{payment.id}/refund", json={"reason": "asked"}, headers=headers
    )


def test_concurrent_refunds_call_the_gateway_once(
    app: Any,
    client: Any,
    student: Any,
    paid_course: Any,
    bought: Any,
    admin_headers: dict[str, str],
    stripe_env: FakeGateway,
) -> None:
    payment, stripe, headers = bought, stripe_env, admin_headers
    stripe.routes[("POST", REFUNDS)] = (200, REFUNDED)
    # The gateway takes long enough for the second request to arrive while the first waits.
    stripe.delay = 1.0
    barrier = threading.Barrier(2)
    answers: list[Any] = []
    lock = threading.Lock()

    def refund() -> None:
        with TestClient(app) as local:
            barrier.wait()
            response = _refund(local, payment, headers)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["code"] == "refund_in_progress"
    assert [r["path"] for r in stripe.requests] == [REFUNDS]
    assert payment_row(str(payment.id)).status == "refunded"
    assert count_enrollments(student.id, paid_course.id) == 0
    assert [e for e in event_types(str(payment.id)) if e[0] == "payment.refunded"] == [
        ("payment.refunded", "admin", "refunded")
    ]
    # Refunded once: asking again is refused without calling the gateway.
    again = _refund(client, payment, headers)
    assert again.status_code == 409 and again.json()["code"] == "not_refundable"
    assert len(stripe.requests) == 1


def test_a_refused_refund_changes_nothing_and_can_be_retried(
    client: Any,
    student: Any,
    paid_course: Any,
    bought: Any,
    admin_headers: dict[str, str],
    stripe_env: FakeGateway,
) -> None:
    payment, stripe = bought, stripe_env
    trail = event_types(str(payment.id))
    stripe.routes[("POST", REFUNDS)] = (
        400,
        {"error": {"type": "invalid_request_error", "message": "Charge already refunded"}},
    )
    refused = _refund(client, payment, admin_headers)
    assert refused.status_code == 503 and refused.json()["code"] == "refund_failed"
    row = payment_row(str(payment.id))
    assert row.status == "completed" and row.refunded_at is None
    assert count_enrollments(student.id, paid_course.id) == 1
    assert event_types(str(payment.id)) == trail

    stripe.routes[("POST", REFUNDS)] = (200, REFUNDED)
    done = _refund(client, payment, admin_headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "refunded"
    assert payment_row(str(payment.id)).metadata_["refund_id"] == "re_1"
    assert count_enrollments(student.id, paid_course.id) == 0
    assert [r["path"] for r in stripe.requests] == [REFUNDS, REFUNDS]


def _leave_claim(payment: Any, *, age: timedelta) -> None:
    """The claim a process leaves when it ends between claiming a refund and finishing it,
    recorded `age` ago (a second call ages the same claim)."""
    event_id = f"refund:{payment.id}"
    with session_scope() as db:
        claim = db.query(PaymentEvent).filter_by(gateway="stripe", event_id=event_id).first()
        if claim is None:
            claim = PaymentEvent(
                payment_id=payment.id,
                gateway="stripe",
                event_id=event_id,
                event_type="refund.requested",
                source="admin",
                from_status="completed",
                note="by a process that ended",
            )
            db.add(claim)
        claim.created_at = utcnow() - age


def test_a_claim_left_unfinished_refuses_until_stale_then_is_taken_over(
    client: Any, bought: Any, admin_headers: dict[str, str], stripe_env: FakeGateway
) -> None:
    payment, stripe = bought, stripe_env
    stripe.routes[("POST", REFUNDS)] = (200, REFUNDED)
    _leave_claim(payment, age=STALE_CLAIM_AGE - timedelta(minutes=1))
    refused = _refund(client, payment, admin_headers)
    assert refused.status_code == 409 and refused.json()["code"] == "refund_in_progress"
    assert stripe.requests == []
    assert count_enrollments(payment.user_id, payment.course_id) == 1

    _leave_claim(payment, age=STALE_CLAIM_AGE + timedelta(minutes=1))
    done = _refund(client, payment, admin_headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "refunded"
    assert [r["path"] for r in stripe.requests] == [REFUNDS]
    # The same idempotency key as the first try: Stripe answers with the refund it made.
    headers = {name.lower(): value for name, value in stripe.requests[0]["headers"].items()}
    assert headers["idempotency-key"] == f"refund-{payment.id}"
    assert count_enrollments(payment.user_id, payment.course_id) == 0
