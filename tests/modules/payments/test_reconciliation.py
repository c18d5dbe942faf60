"""Reconciliation: payments whose webhook never came are completed (or closed) by asking each
gateway's API where they stand, through the same path as the webhook. Every gateway's HTTPS
API is a local fake answering as its documentation shows."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from app.core.database import session_scope, utcnow
from app.modules.payments import jobs
from app.modules.payments.models import Payment
from app.modules.payments.services import reconciliation
from tests.modules.payments.factories import (
    FakeGateway,
    create_course,
    create_payment,
    outbox_entries,
)
from tests.modules.payments.helpers import (
    MYFATOORAH_SECRET,
    PAYMOB_SECRET,
    STRIPE_WHSEC,
    count_enrollments,
    event_types,
    myfatoorah_event_signature,
    myfatoorah_payment_event,
    payment_row,
    paymob_hmac,
    paymob_transaction,
    stripe_event,
    stripe_session,
    stripe_signature,
)

SESSIONS = "/v1/checkout/sessions"
MF_STATUS = "/v2/GetPaymentStatus"
PAYMOB_AUTH = "/api/auth/tokens"
PAYMOB_INQUIRY = "/api/ecommerce/orders/transaction_inquiry"
INVOICE = "6409988"
ORDER = 217503754


@pytest.fixture
def gateways(env: Any, fake: FakeGateway) -> FakeGateway:
    """Every gateway configured against the fake; Paymob's auth token always issued."""
    env(
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_WEBHOOK_SECRET=STRIPE_WHSEC,
        STRIPE_API_BASE=fake.url,
        MYFATOORAH_API_KEY="mf-token",
        MYFATOORAH_BASE_URL=fake.url,
        MYFATOORAH_WEBHOOK_SECRET=MYFATOORAH_SECRET,
        PAYMOB_SECRET_KEY="egy_sk_test",
        PAYMOB_API_KEY="paymob-api-key",
        PAYMOB_HMAC_SECRET=PAYMOB_SECRET,
        PAYMOB_BASE_URL=fake.url,
    )
    fake.routes[("POST", PAYMOB_AUTH)] = (201, {"token": "paymob-auth-token", "profile": {}})
    return fake


def _pending(
    student: Any, course: Any, *, gateway: str, reference: str, minutes_old: float = 60
) -> Payment:
    """A pending payment whose webhook never arrived, opened `minutes_old` ago."""
    opened = utcnow() - timedelta(minutes=minutes_old)
    return create_payment(
        student,
        course=course,
        amount=str(course.price),
        currency=course.currency,
        gateway=gateway,
        status="pending",
        gateway_reference=reference,
        created_at=opened,
        updated_at=opened,
    )


def _reconcile() -> dict[str, int]:
    return dict(jobs.reconcile_payments_job.apply().get())


def _receipts(student: Any) -> int:
    return sum(
        1
        for entry in outbox_entries()
        if entry["to"] == student.email and entry["subject"].startswith("Receipt for")
    )


def _late_webhook_changed_nothing(
    response: Any, *, outcome: str, student: Any, course: Any
) -> None:
    """The webhook arriving after reconciliation was acknowledged and granted nothing more."""
    assert response.status_code == 200 and response.json()["status"] == outcome
    assert count_enrollments(student.id, course.id) == 1
    assert _receipts(student) == 1


def _mf_status(
    payment: Payment, invoice_status: str, *transactions: tuple[str, str]
) -> dict[str, Any]:
    """GetPaymentStatus's answer: the invoice and its (status, PaymentId) transactions."""
    return {
        "IsSuccess": True,
        "Message": "",
        "ValidationErrors": None,
        "Data": {
            "InvoiceId": int(INVOICE),
            "InvoiceStatus": invoice_status,
            "InvoiceReference": "2026000073",
            "CustomerReference": str(payment.id),
            "CreatedDate": "2026-11-22T09:59:00.02",
            "ExpiryDate": "November 25, 2026",
            "InvoiceValue": 15,
            "CustomerName": "Test Student",
            "UserDefinedField": str(payment.id),
            "InvoiceDisplayValue": "15.000 KD",
            "InvoiceItems": [],
            "InvoiceTransactions": [
                {
                    "TransactionDate": "2026-11-22T10:00:00.1",
                    "PaymentGateway": "VISA/MASTER",
                    "ReferenceId": "106310001097",
                    "TrackId": "22-11-2026_477336",
                    "TransactionId": "86781",
                    "PaymentId": payment_id,
                    "AuthorizationId": "B68413",
                    "TransactionStatus": status,
                    "TransationValue": "15.000",
                    "CustomerServiceCharge": "0.000",
                    "DueValue": "15.000",
                    "PaidCurrency": "KD",
                    "PaidCurrencyValue": "15.000",
                    "Currency": "KD",
                    "Error": None if status == "Succss" else "Transaction canceled!",
                    "CardNumber": "450875xxxxxx1019",
                    "ErrorCode": "" if status == "Succss" else "MF006",
                }
                for status, payment_id in transactions
            ],
            "Suppliers": [],
        },
    }


def _paymob_inquiry(payment: Payment, **overrides: Any) -> dict[str, Any]:
    """The transaction inquiry's answer: the order's latest transaction."""
    transaction = paymob_transaction(ORDER, **overrides)
    transaction["order"]["merchant_order_id"] = str(payment.id)
    return transaction


# --- Stripe ----------------------------------------------------------------------------------


def test_stripe_paid_session_completes_once_and_the_late_webhook_changes_nothing(
    client: Any, student: Any, paid_course: Any, gateways: FakeGateway, outbox: None
) -> None:
    payment = _pending(student, paid_course, gateway="stripe", reference="cs_test_lost")
    paid = stripe_session("cs_test_lost", str(payment.id), "paid")
    gateways.routes[("GET", f"{SESSIONS}/cs_test_lost")] = (200, paid)

    assert _reconcile() == {"processed": 1}
    asked = gateways.requests[-1]
    assert asked["method"] == "GET" and asked["path"] == f"{SESSIONS}/cs_test_lost"
    assert asked["headers"]["Authorization"] == "Bearer sk_test_123"
    assert asked["headers"]["Stripe-Version"] == "2025-09-30.clover"
    row = payment_row(str(payment.id))
    assert row.status == "completed" and row.transaction_id == "pi_3TestIntent"
    assert row.enrollment_id is not None and row.completed_at is not None
    assert count_enrollments(student.id, paid_course.id) == 1
    assert event_types(str(payment.id))[-1] == (
        "checkout.session.complete",
        "reconciliation",
        "completed",
    )
    assert _receipts(student) == 1

    # The webhook the gateway retries later finds the payment completed: nothing happens.
    body = stripe_event("checkout.session.completed", paid)
    late = client.post(
        "/api/v1/payments/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body, STRIPE_WHSEC)},
    )
    _late_webhook_changed_nothing(late, outcome="ignored", student=student, course=paid_course)
    # A completed payment is not asked about again.
    asked_so_far = len(gateways.requests)
    assert _reconcile() == {}
    assert len(gateways.requests) == asked_so_far


def test_stripe_open_session_stays_pending_and_an_expired_one_is_cancelled(
    student: Any, paid_course: Any, gateways: FakeGateway
) -> None:
    still_open = _pending(student, paid_course, gateway="stripe", reference="cs_open")
    expired = _pending(student, paid_course, gateway="stripe", reference="cs_expired")
    gateways.routes[("GET", f"{SESSIONS}/cs_open")] = (
        200,
        stripe_session("cs_open", str(still_open.id)),
    )
    gateways.routes[("GET", f"{SESSIONS}/cs_expired")] = (
        200,
        stripe_session("cs_expired", str(expired.id), session_status="expired"),
    )
    assert _reconcile() == {"pending": 1, "processed": 1}
    assert payment_row(str(still_open.id)).status == "pending"
    assert payment_row(str(expired.id)).status == "cancelled"
    assert count_enrollments(student.id, paid_course.id) == 0


def test_an_amount_mismatch_reported_by_the_gateway_grants_nothing(
    student: Any, paid_course: Any, gateways: FakeGateway
) -> None:
    payment = _pending(student, paid_course, gateway="stripe", reference="cs_cheap")
    gateways.routes[("GET", f"{SESSIONS}/cs_cheap")] = (
        200,
        stripe_session("cs_cheap", str(payment.id), "paid", amount_total=100),
    )
    assert _reconcile() == {"error": 1}
    assert payment_row(str(payment.id)).status == "pending"
    assert count_enrollments(student.id, paid_course.id) == 0
    assert [source for _type, source, _to in event_types(str(payment.id))] == []


def test_an_answer_naming_another_payments_transaction_is_refused(
    client: Any,
    admin: Any,
    student: Any,
    other_student: Any,
    paid_course: Any,
    auth_headers: Any,
    gateways: FakeGateway,
) -> None:
    # The paid session reports a payment intent an older payment was completed with.
    older = create_payment(
        other_student, course=paid_course, gateway="stripe", transaction_id="pi_3TestIntent"
    )
    payment = _pending(student, paid_course, gateway="stripe", reference="cs_crossed")
    gateways.routes[("GET", f"{SESSIONS}/cs_crossed")] = (
        200,
        stripe_session("cs_crossed", str(payment.id), "paid"),
    )
    assert _reconcile() == {"error": 1}
    refused = client.post(f"/api/v1/payments/{payment.id}/reconcile", headers=auth_headers(admin))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "payment_identifier_conflict"
    assert payment_row(str(payment.id)).status == "pending"
    assert event_types(str(payment.id)) == []
    assert payment_row(str(older.id)).status == "completed"
    assert event_types(str(older.id)) == []
    assert count_enrollments(student.id, paid_course.id) == 0


def test_a_webhook_that_wins_the_race_leaves_the_answer_nothing_to_do(
    client: Any, student: Any, paid_course: Any, gateways: FakeGateway, outbox: None
) -> None:
    payment = _pending(student, paid_course, gateway="stripe", reference="cs_race")
    paid = stripe_session("cs_race", str(payment.id), "paid")
    gateways.routes[("GET", f"{SESSIONS}/cs_race")] = (200, paid)
    with session_scope() as db:
        (query,) = reconciliation.claim_payments_to_reconcile(db, now=utcnow())
    # The webhook arrives while the gateway is being asked.
    body = stripe_event("checkout.session.completed", paid)
    hook = client.post(
        "/api/v1/payments/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body, STRIPE_WHSEC)},
    )
    assert hook.json()["status"] == "processed"
    with session_scope() as db:
        assert reconciliation.reconcile(db, query).status == "ignored"
    assert count_enrollments(student.id, paid_course.id) == 1
    assert _receipts(student) == 1


# --- MyFatoorah ------------------------------------------------------------------------------


def test_myfatoorah_paid_invoice_completes_once_and_the_late_webhook_changes_nothing(
    client: Any, student: Any, paid_course: Any, gateways: FakeGateway, outbox: None
) -> None:
    payment = _pending(student, paid_course, gateway="myfatoorah", reference=INVOICE)
    gateways.routes[("POST", MF_STATUS)] = (
        200,
        _mf_status(
            payment,
            "Paid",
            ("Failed", "100202120933974848"),
            ("Succss", "07076409988323998875"),
        ),
    )
    assert _reconcile() == {"processed": 1}
    asked = gateways.requests[-1]
    assert json.loads(asked["body"]) == {"Key": INVOICE, "KeyType": "InvoiceId"}
    assert asked["headers"]["Authorization"] == "Bearer mf-token"
    row = payment_row(str(payment.id))
    # The successful attempt's PaymentId, the key MakeRefund takes.
    assert row.status == "completed" and row.transaction_id == "07076409988323998875"
    assert row.payment_method == "VISA/MASTER"
    assert count_enrollments(student.id, paid_course.id) == 1

    event = myfatoorah_payment_event(INVOICE, str(payment.id))
    late = client.post(
        "/api/v1/payments/webhooks/myfatoorah",
        content=json.dumps(event).encode(),
        headers={"MyFatoorah-Signature": myfatoorah_event_signature(event)},
    )
    _late_webhook_changed_nothing(late, outcome="ignored", student=student, course=paid_course)


def test_myfatoorah_pending_invoice_stays_pending_until_it_expires(
    student: Any, paid_course: Any, gateways: FakeGateway
) -> None:
    payment = _pending(student, paid_course, gateway="myfatoorah", reference=INVOICE)
    # A failed attempt leaves the invoice payable: nothing is final yet.
    gateways.routes[("POST", MF_STATUS)] = (
        200,
        _mf_status(payment, "Pending", ("Failed", "100202120933974848")),
    )
    assert _reconcile() == {"pending": 1}
    assert payment_row(str(payment.id)).status == "pending"
    gateways.routes[("POST", MF_STATUS)] = (200, _mf_status(payment, "Expired"))
    assert _reconcile() == {"processed": 1}
    assert payment_row(str(payment.id)).status == "cancelled"
    assert count_enrollments(student.id, paid_course.id) == 0


def test_myfatoorah_answer_about_another_payment_is_refused(
    student: Any, paid_course: Any, gateways: FakeGateway
) -> None:
    payment = _pending(student, paid_course, gateway="myfatoorah", reference=INVOICE)
    answer = _mf_status(payment, "Paid", ("Succss", "07076409988323998875"))
    answer["Data"]["CustomerReference"] = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
    gateways.routes[("POST", MF_STATUS)] = (200, answer)
    assert _reconcile() == {"error": 1}
    assert payment_row(str(payment.id)).status == "pending"
    assert count_enrollments(student.id, paid_course.id) == 0


# --- Paymob ----------------------------------------------------------------------------------


def test_paymob_successful_transaction_completes_once_and_its_callback_is_a_duplicate(
    client: Any, student: Any, instructor: Any, gateways: FakeGateway, outbox: None
) -> None:
    course = create_course(instructor, price="49.00", currency="EGP")
    payment = _pending(student, course, gateway="paymob", reference=str(ORDER))
    gateways.routes[("POST", PAYMOB_INQUIRY)] = (200, _paymob_inquiry(payment))

    assert _reconcile() == {"processed": 1}
    login, inquiry = gateways.requests[-2:]
    assert login["path"] == PAYMOB_AUTH
    assert json.loads(login["body"]) == {"api_key": "paymob-api-key"}
    assert inquiry["path"] == PAYMOB_INQUIRY
    assert inquiry["headers"]["Authorization"] == "Bearer paymob-auth-token"
    assert json.loads(inquiry["body"]) == {"order_id": str(ORDER)}
    row = payment_row(str(payment.id))
    assert row.status == "completed" and row.transaction_id == "192036465"
    assert count_enrollments(student.id, course.id) == 1

    # The transaction processed callback for the same transaction is the same event.
    callback = {"type": "TRANSACTION", "obj": _paymob_inquiry(payment)}
    late = client.post(
        "/api/v1/payments/webhooks/paymob",
        params={"hmac": paymob_hmac(callback["obj"], PAYMOB_SECRET)},
        content=json.dumps(callback).encode(),
    )
    _late_webhook_changed_nothing(late, outcome="duplicate", student=student, course=course)


def test_paymob_pending_or_missing_transaction_stays_pending_and_a_declined_one_fails(
    student: Any, instructor: Any, gateways: FakeGateway
) -> None:
    course = create_course(instructor, price="49.00", currency="EGP")
    payment = _pending(student, course, gateway="paymob", reference=str(ORDER))
    # No transaction on the order yet: the inquiry finds none.
    gateways.routes[("POST", PAYMOB_INQUIRY)] = (404, {"detail": "Not found."})
    assert _reconcile() == {"pending": 1}
    gateways.routes[("POST", PAYMOB_INQUIRY)] = (
        200,
        _paymob_inquiry(payment, pending=True, success=False),
    )
    assert _reconcile() == {"pending": 1}
    assert payment_row(str(payment.id)).status == "pending"
    gateways.routes[("POST", PAYMOB_INQUIRY)] = (
        200,
        _paymob_inquiry(payment, success=False, data={"message": "Do not honour"}),
    )
    assert _reconcile() == {"processed": 1}
    assert payment_row(str(payment.id)).status == "failed"
    assert count_enrollments(student.id, course.id) == 0


# --- sandbox ---------------------------------------------------------------------------------


def test_sandbox_checkout_left_alone_expires_after_a_day(student: Any, paid_course: Any) -> None:
    fresh = _pending(student, paid_course, gateway="sandbox", reference="sbx_fresh")
    abandoned = _pending(
        student, paid_course, gateway="sandbox", reference="sbx_old", minutes_old=25 * 60
    )
    assert _reconcile() == {"pending": 1, "processed": 1}
    assert payment_row(str(fresh.id)).status == "pending"
    assert payment_row(str(abandoned.id)).status == "cancelled"
    assert event_types(str(abandoned.id))[-1] == ("payment.expired", "reconciliation", "cancelled")


# --- the job ---------------------------------------------------------------------------------


def test_a_failing_gateway_does_not_stop_the_others(
    env: Any, student: Any, paid_course: Any, instructor: Any, gateways: FakeGateway
) -> None:
    broken = _pending(student, paid_course, gateway="stripe", reference="cs_unknown")
    gateways.routes[("GET", f"{SESSIONS}/cs_unknown")] = (
        404,
        {
            "error": {
                "code": "resource_missing",
                "message": "No such checkout.session: 'cs_unknown'",
                "param": "session",
                "type": "invalid_request_error",
            }
        },
    )
    unreachable = _pending(student, paid_course, gateway="myfatoorah", reference=INVOICE)
    env(MYFATOORAH_BASE_URL="http://127.0.0.1:9")  # nothing listens on the discard port
    course = create_course(instructor, price="49.00", currency="EGP")
    payment = _pending(student, course, gateway="paymob", reference=str(ORDER))
    gateways.routes[("POST", PAYMOB_INQUIRY)] = (200, _paymob_inquiry(payment))

    assert _reconcile() == {"error": 2, "processed": 1}
    assert payment_row(str(payment.id)).status == "completed"
    assert count_enrollments(student.id, course.id) == 1
    assert payment_row(str(broken.id)).status == "pending"
    assert payment_row(str(unreachable.id)).status == "pending"


def test_only_payments_in_the_age_window_are_asked_about(
    env: Any, student: Any, paid_course: Any, gateways: FakeGateway
) -> None:
    young = _pending(student, paid_course, gateway="stripe", reference="cs_young", minutes_old=5)
    _pending(student, paid_course, gateway="stripe", reference="cs_ancient", minutes_old=8 * 1440)
    gateways.routes[("GET", f"{SESSIONS}/cs_young")] = (
        200,
        stripe_session("cs_young", str(young.id), "paid"),
    )
    assert _reconcile() == {}
    assert gateways.requests == []
    env(PAYMENT_RECONCILIATION_MIN_AGE_MINUTES="1")
    assert _reconcile() == {"processed": 1}
    assert [request["path"] for request in gateways.requests] == [f"{SESSIONS}/cs_young"]
    assert payment_row(str(young.id)).status == "completed"


def test_each_run_takes_a_bounded_batch_and_the_next_run_the_others(
    env: Any, student: Any, paid_course: Any
) -> None:
    env(PAYMENT_RECONCILIATION_BATCH_SIZE="2")
    ids = {
        _pending(
            student, paid_course, gateway="sandbox", reference=f"sbx_{n}", minutes_old=60 + n
        ).id
        for n in range(3)
    }

    def claimed() -> set[Any]:
        with session_scope() as db:
            queries = reconciliation.claim_payments_to_reconcile(db, now=utcnow())
        return {query.payment_id for query in queries}

    first, second = claimed(), claimed()
    assert len(first) == 2 and len(second) == 2
    assert first | second == {str(payment_id) for payment_id in ids}


# --- on demand -------------------------------------------------------------------------------


def test_admin_reconciles_one_payment_on_demand(
    client: Any,
    admin: Any,
    student: Any,
    instructor: Any,
    paid_course: Any,
    auth_headers: Any,
    gateways: FakeGateway,
) -> None:
    # Fresh: on demand, the age window does not apply.
    payment = _pending(student, paid_course, gateway="stripe", reference="cs_now", minutes_old=1)
    url = f"/api/v1/payments/{payment.id}/reconcile"
    for user in (student, instructor):
        refused = client.post(url, headers=auth_headers(user))
        assert refused.status_code == 403, refused.text
    assert client.post(url).status_code == 401
    assert gateways.requests == []

    gateways.routes[("GET", f"{SESSIONS}/cs_now")] = (500, {"error": {"message": "down"}})
    down = client.post(url, headers=auth_headers(admin))
    assert down.status_code == 503 and down.json()["code"] == "gateway_unavailable"

    gateways.routes[("GET", f"{SESSIONS}/cs_now")] = (
        200,
        stripe_session("cs_now", str(payment.id)),
    )
    still = client.post(url, headers=auth_headers(admin))
    assert still.status_code == 200, still.text
    assert still.json()["status"] == "pending" and still.json()["payment"]["status"] == "pending"

    gateways.routes[("GET", f"{SESSIONS}/cs_now")] = (
        200,
        stripe_session("cs_now", str(payment.id), "paid"),
    )
    done = client.post(url, headers=auth_headers(admin))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "processed"
    assert done.json()["payment"]["status"] == "completed"
    assert count_enrollments(student.id, paid_course.id) == 1

    again = client.post(url, headers=auth_headers(admin))
    assert again.status_code == 409 and again.json()["code"] == "not_reconcilable"
    missing = client.post(
        "/api/v1/payments/00000000-0000-0000-0000-000000000000/reconcile",
        headers=auth_headers(admin),
    )
    assert missing.status_code == 404
