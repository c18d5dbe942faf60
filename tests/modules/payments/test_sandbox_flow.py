"""The payment flow through the sandbox gateway: checkout, signed webhook, enrollment,
idempotency, ordering, amount checks, refunds and who may do what."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.modules.payments.factories import (
    create_course,
    create_enrollment,
    create_payment,
    outbox_entries,
)
from tests.modules.payments.helpers import (
    count_enrollments,
    event_types,
    events_recorded,
    payment_row,
    sandbox_webhook,
)

INTENT = "/api/v1/payments/create-payment-intent"
SANDBOX_HOOK = "/api/v1/payments/webhooks/sandbox"


def _checkout(client: Any, headers: dict[str, str], course: Any) -> dict[str, Any]:
    response = client.post(INTENT, json={"course_id": str(course.id)}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_checkout_takes_price_from_the_course(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    assert checkout["gateway"] == "sandbox"
    assert checkout["status"] == "pending"
    assert checkout["amount"] == "49.00" and checkout["currency"] == "USD"
    assert "/payments/sandbox/checkout/" in checkout["checkout_url"]
    # The client cannot name its own price.
    response = client.post(
        INTENT,
        json={"course_id": str(paid_course.id), "amount": "1.00"},
        headers=auth_headers(student),
    )
    assert response.status_code == 422


def test_double_click_reuses_the_open_checkout(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    first = _checkout(client, auth_headers(student), paid_course)
    second = _checkout(client, auth_headers(student), paid_course)
    assert first["payment_id"] == second["payment_id"]


def test_sandbox_checkout_completes_through_the_signed_webhook(
    client: Any, student: Any, paid_course: Any, auth_headers: Any, outbox: None
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    url = urlsplit(checkout["checkout_url"])
    token = parse_qs(url.query)["token"][0]
    page = client.get(url.path, params={"token": token})
    assert page.status_code == 200 and "49.00 USD" in page.text

    result = client.post(f"{url.path}/succeed", params={"token": token})
    assert result.status_code == 200, result.text
    assert result.json()["webhook"]["status"] == "processed"

    payment = payment_row(checkout["payment_id"])
    assert payment.status == "completed" and payment.enrollment_id is not None
    assert payment.transaction_id and payment.completed_at is not None
    assert count_enrollments(student.id, paid_course.id) == 1
    trail = event_types(checkout["payment_id"])
    assert trail[0] == ("payment.created", "api", "pending")
    assert trail[-1] == ("payment.succeeded", "webhook", "completed")
    subjects = [e["subject"] for e in outbox_entries() if e["to"] == student.email]
    assert any(s.startswith("Receipt for") for s in subjects)

    listed = client.get("/api/v1/payments/my-payments", headers=auth_headers(student)).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "completed"
    # Paid again later: nothing to buy.
    again = client.post(
        INTENT, json={"course_id": str(paid_course.id)}, headers=auth_headers(student)
    )
    assert again.status_code == 409


def test_replayed_webhook_changes_nothing(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    body, headers = sandbox_webhook(checkout, event_id="evt_replayed")
    first = client.post(SANDBOX_HOOK, content=body, headers=headers)
    assert first.json()["status"] == "processed"
    trail = event_types(checkout["payment_id"])
    second = client.post(SANDBOX_HOOK, content=body, headers=headers)
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert event_types(checkout["payment_id"]) == trail
    assert count_enrollments(student.id, paid_course.id) == 1


def test_bad_signatures_are_rejected(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    body, headers = sandbox_webhook(checkout)
    tampered = body.replace(b"payment.succeeded", b"payment.refunded")
    forged_body, forged_headers = sandbox_webhook(checkout, secret="guessed-secret")
    stale_body, stale_headers = sandbox_webhook(checkout, timestamp=int(time.time()) - 600)
    for content, hdrs in (
        (tampered, headers),
        (forged_body, forged_headers),
        (stale_body, stale_headers),
        (body, {"Content-Type": "application/json"}),
    ):
        response = client.post(SANDBOX_HOOK, content=content, headers=hdrs)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_signature"
    assert payment_row(checkout["payment_id"]).status == "pending"
    assert count_enrollments(student.id, paid_course.id) == 0


def test_amount_or_currency_mismatch_is_refused(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    for kwargs in ({"amount": "1.00"}, {"currency": "EGP"}):
        body, headers = sandbox_webhook(checkout, **kwargs)
        response = client.post(SANDBOX_HOOK, content=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "amount_mismatch"
    assert payment_row(checkout["payment_id"]).status == "pending"
    assert count_enrollments(student.id, paid_course.id) == 0


def test_a_webhook_is_not_applied_to_an_older_payment_sharing_its_transaction_id(
    client: Any,
    student: Any,
    other_student: Any,
    instructor: Any,
    paid_course: Any,
    auth_headers: Any,
) -> None:
    older = create_payment(other_student, course=paid_course, transaction_id="t")
    course = create_course(instructor, price="7.00", currency="USD")
    checkout = _checkout(client, auth_headers(student), course)
    reference = payment_row(checkout["payment_id"]).gateway_reference
    assert reference
    event = {**checkout, "reference": reference}
    # Signed, naming the new payment by its id and reference, with the older one's
    # transaction id: one gateway transaction cannot pay for both.
    body, headers = sandbox_webhook(event, transaction_id="t", event_id="evt_shared_txn")
    response = client.post(SANDBOX_HOOK, content=body, headers=headers)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "payment_identifier_conflict"
    assert problem["detail"] == (
        "The event's payment id and transaction id name different payments"
    )
    assert events_recorded("evt_shared_txn") == 0
    untouched = payment_row(str(older.id))
    assert untouched.status == "completed" and untouched.transaction_id == "t"
    assert event_types(str(older.id)) == []
    new = payment_row(checkout["payment_id"])
    assert new.status == "pending" and new.transaction_id is None
    assert count_enrollments(student.id, course.id) == 0

    # The new payment's own success, with its own transaction id, completes it.
    body, headers = sandbox_webhook(event, transaction_id="t2")
    response = client.post(SANDBOX_HOOK, content=body, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "processed"
    assert response.json()["payment_id"] == checkout["payment_id"]
    assert payment_row(checkout["payment_id"]).transaction_id == "t2"
    assert count_enrollments(student.id, course.id) == 1
    assert payment_row(str(older.id)).transaction_id == "t"


def test_an_event_whose_identifiers_name_different_payments_is_refused(
    client: Any,
    student: Any,
    other_student: Any,
    paid_course: Any,
    auth_headers: Any,
) -> None:
    other = create_payment(other_student, course=paid_course, status="pending")
    checkout = _checkout(client, auth_headers(student), paid_course)
    mine = payment_row(checkout["payment_id"])
    crossed = [
        # Our payment id names one payment, the checkout reference the other.
        {**checkout, "reference": other.gateway_reference},
        {**checkout, "payment_id": str(other.id), "reference": mine.gateway_reference},
    ]
    for number, event in enumerate(crossed):
        body, headers = sandbox_webhook(event, event_id=f"evt_crossed_{number}")
        response = client.post(SANDBOX_HOOK, content=body, headers=headers)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "payment_identifier_conflict"
        assert response.json()["detail"] == (
            "The event's payment id and reference name different payments"
        )
        assert events_recorded(f"evt_crossed_{number}") == 0
    for payment_id in (checkout["payment_id"], str(other.id)):
        assert payment_row(payment_id).status == "pending"
    assert event_types(str(other.id)) == []
    assert event_types(checkout["payment_id"]) == [("payment.created", "api", "pending")]
    assert count_enrollments(student.id, paid_course.id) == 0
    assert count_enrollments(other_student.id, paid_course.id) == 0


def test_out_of_order_events(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    # A failed attempt, then a late success: the payment completes.
    for event_type in ("payment.failed", "payment.succeeded"):
        body, headers = sandbox_webhook(checkout, event_type=event_type)
        assert client.post(SANDBOX_HOOK, content=body, headers=headers).status_code == 200
    assert payment_row(checkout["payment_id"]).status == "completed"
    # A stale failure arriving after the success never undoes it.
    body, headers = sandbox_webhook(checkout, event_type="payment.failed")
    response = client.post(SANDBOX_HOOK, content=body, headers=headers)
    assert response.json()["status"] == "ignored"
    assert payment_row(checkout["payment_id"]).status == "completed"
    assert count_enrollments(student.id, paid_course.id) == 1


def test_refund_before_completion_wins_over_a_late_success(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    for event_type in ("payment.refunded", "payment.succeeded"):
        body, headers = sandbox_webhook(checkout, event_type=event_type)
        assert client.post(SANDBOX_HOOK, content=body, headers=headers).status_code == 200
    assert payment_row(checkout["payment_id"]).status == "refunded"
    assert count_enrollments(student.id, paid_course.id) == 0


def test_a_client_cannot_complete_its_own_payment(
    client: Any, student: Any, paid_course: Any, auth_headers: Any, env: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    payment_id = checkout["payment_id"]
    headers = auth_headers(student)
    # No route changes a payment's status.
    assert (
        client.patch(
            f"/api/v1/payments/{payment_id}", json={"status": "completed"}, headers=headers
        ).status_code
        == 405
    )
    assert (
        client.put(
            f"/api/v1/payments/{payment_id}", json={"status": "completed"}, headers=headers
        ).status_code
        == 405
    )
    # The sandbox checkout needs the capability token from the checkout URL.
    path = urlsplit(checkout["checkout_url"]).path
    assert client.post(f"{path}/succeed", params={"token": "0" * 64}).status_code == 403
    # A webhook signed with anything but the gateway secret is refused.
    body, hook_headers = sandbox_webhook(checkout, secret="student-made-this-up")
    assert client.post(SANDBOX_HOOK, content=body, headers=hook_headers).status_code == 400
    assert payment_row(payment_id).status == "pending"
    # In production the sandbox gateway does not exist at all.
    env(ENVIRONMENT="production")
    body, hook_headers = sandbox_webhook(checkout)
    assert client.post(SANDBOX_HOOK, content=body, headers=hook_headers).status_code == 404
    token = parse_qs(urlsplit(checkout["checkout_url"]).query)["token"][0]
    assert client.post(f"{path}/succeed", params={"token": token}).status_code == 404
    assert payment_row(payment_id).status == "pending"


def test_checkout_refusals(
    client: Any, student: Any, instructor: Any, auth_headers: Any, paid_course: Any
) -> None:
    free = create_course(instructor, price="0")
    draft = create_course(instructor, published=False)
    for course_id, status, code in (
        (free.id, 422, "course_is_free"),
        (draft.id, 404, "course_not_found"),
        (uuid.uuid4(), 404, "course_not_found"),
    ):
        response = client.post(
            INTENT, json={"course_id": str(course_id)}, headers=auth_headers(student)
        )
        assert response.status_code == status and response.json()["code"] == code
    response = client.post(
        INTENT, json={"course_id": str(paid_course.id)}, headers=auth_headers(instructor)
    )
    assert response.status_code == 403
    assert client.post(INTENT, json={"course_id": str(paid_course.id)}).status_code == 401
    create_enrollment(student, paid_course)
    response = client.post(
        INTENT, json={"course_id": str(paid_course.id)}, headers=auth_headers(student)
    )
    assert response.status_code == 409


def test_payments_are_private(
    client: Any, student: Any, other_student: Any, admin: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    url = f"/api/v1/payments/{checkout['payment_id']}"
    assert client.get(url, headers=auth_headers(student)).status_code == 200
    assert client.get(url, headers=auth_headers(other_student)).status_code == 404
    assert client.get(url, headers=auth_headers(admin)).status_code == 200
    theirs = client.get("/api/v1/payments/my-payments", headers=auth_headers(other_student)).json()
    assert theirs["total"] == 0
    assert client.get("/api/v1/payments", headers=auth_headers(student)).status_code == 403
    assert client.get(f"{url}/events", headers=auth_headers(student)).status_code == 403
    events = client.get(f"{url}/events", headers=auth_headers(admin)).json()
    assert events["items"][0]["event_type"] == "payment.created"


def _paid(client: Any, student: Any, course: Any, auth_headers: Any) -> dict[str, Any]:
    checkout = _checkout(client, auth_headers(student), course)
    body, headers = sandbox_webhook(checkout)
    assert client.post(SANDBOX_HOOK, content=body, headers=headers).json()["status"] == "processed"
    return checkout


def test_admin_refund_revokes_access(
    client: Any, student: Any, admin: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _paid(client, student, paid_course, auth_headers)
    url = f"/api/v1/payments/{checkout['payment_id']}/refund"
    assert client.post(url, json={"reason": "x"}, headers=auth_headers(student)).status_code == 403
    response = client.post(
        url, json={"reason": "requested by student"}, headers=auth_headers(admin)
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refunded"
    assert count_enrollments(student.id, paid_course.id) == 0
    assert ("payment.refunded", "admin", "refunded") in event_types(checkout["payment_id"])
    # Refunding twice is refused; the gateway's own refund webhook afterwards changes nothing.
    assert (
        client.post(url, json={"reason": "again"}, headers=auth_headers(admin)).status_code == 409
    )
    body, headers = sandbox_webhook(checkout, event_type="payment.refunded")
    assert client.post(SANDBOX_HOOK, content=body, headers=headers).json()["status"] == "ignored"
    # Buying again restores access.
    _paid(client, student, paid_course, auth_headers)
    assert count_enrollments(student.id, paid_course.id) == 1


def test_pending_payment_cannot_be_refunded(
    client: Any, student: Any, admin: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    url = f"/api/v1/payments/{checkout['payment_id']}/refund"
    response = client.post(url, json={"reason": "x"}, headers=auth_headers(admin))
    assert response.status_code == 409
    missing = client.post(
        f"/api/v1/payments/{uuid.uuid4()}/refund", json={"reason": "x"}, headers=auth_headers(admin)
    )
    assert missing.status_code == 404


def test_non_ascii_checkout_tokens_and_signatures_are_refused_not_500(
    client: Any, student: Any, paid_course: Any, auth_headers: Any
) -> None:
    checkout = _checkout(client, auth_headers(student), paid_course)
    action = f"/api/v1/payments/sandbox/checkout/{checkout['payment_id']}/succeed?token=%C3%A9"
    refused = client.post(action)
    assert refused.status_code == 403
    assert refused.json()["code"] == "invalid_checkout_token"
    page = client.get(f"/api/v1/payments/sandbox/checkout/{checkout['payment_id']}?token=%C3%A9")
    assert page.status_code == 403
    body, headers = sandbox_webhook(checkout)
    # Header values travel as Latin-1 bytes: 0xE9 arrives as "é".
    signature = f"t={int(time.time())},v1=\xe9".encode("latin-1")
    hook = client.post(
        SANDBOX_HOOK, content=body, headers={**headers, "Sandbox-Signature": signature}
    )
    assert 400 <= hook.status_code < 500
    assert payment_row(checkout["payment_id"]).status == "pending"
