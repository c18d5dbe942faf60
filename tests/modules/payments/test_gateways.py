"""Stripe, MyFatoorah and Paymob: checkouts created against a local fake of each HTTPS API
(payloads shaped as documented), webhooks signed exactly as each gateway documents."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import func, select

from app.core.database import session_scope
from app.modules.payments.gateways import myfatoorah, paymob
from app.modules.payments.models import Payment
from tests.modules.payments.factories import (
    FakeGateway,
    create_course,
    create_payment,
)
from tests.modules.payments.helpers import (
    MYFATOORAH_SECRET,
    PAYMOB_SECRET,
    STRIPE_WHSEC,
    count_enrollments,
    myfatoorah_event_signature,
    myfatoorah_payment_event,
    myfatoorah_signature,
    payment_row,
    paymob_hmac,
    paymob_transaction,
    stripe_event,
    stripe_session,
    stripe_signature,
)

INTENT = "/api/v1/payments/create-payment-intent"


def _open(client: Any, headers: dict[str, str], course: Any) -> dict[str, Any]:
    response = client.post(INTENT, json={"course_id": str(course.id)}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- Stripe ----------------------------------------------------------------------------------


def test_stripe_checkout_and_webhook(
    client: Any,
    student: Any,
    admin: Any,
    paid_course: Any,
    auth_headers: Any,
    stripe_env: FakeGateway,
) -> None:
    stripe_env.routes[("POST", "/v1/checkout/sessions")] = (
        200,
        stripe_session("cs_test_abc", "placeholder"),
    )
    checkout = _open(client, auth_headers(student), paid_course)
    assert checkout["checkout_url"] == "https://checkout.stripe.com/c/pay/cs_test_abc"
    sent = stripe_env.requests[0]
    form = parse_qs(sent["body"])
    assert form["line_items[0][price_data][unit_amount]"] == ["4900"]
    assert form["line_items[0][price_data][currency]"] == ["usd"]
    assert form["client_reference_id"] == [checkout["payment_id"]]
    assert sent["headers"]["Stripe-Version"] == "2025-09-30.clover"
    assert sent["headers"]["Idempotency-Key"] == f"checkout-{checkout['payment_id']}"

    payload = stripe_event(
        "checkout.session.completed", stripe_session("cs_test_abc", checkout["payment_id"], "paid")
    )
    hook = "/api/v1/payments/webhooks/stripe"
    tampered = payload.replace(b'"amount_total": 4900', b'"amount_total": 100')
    bad = client.post(
        hook,
        content=tampered,
        headers={"Stripe-Signature": stripe_signature(payload, STRIPE_WHSEC)},
    )
    assert bad.status_code == 400
    old = client.post(
        hook,
        content=payload,
        headers={
            "Stripe-Signature": stripe_signature(payload, STRIPE_WHSEC, int(time.time()) - 900)
        },
    )
    assert old.status_code == 400
    assert payment_row(checkout["payment_id"]).status == "pending"

    signature = {"Stripe-Signature": stripe_signature(payload, STRIPE_WHSEC)}
    ok = client.post(hook, content=payload, headers=signature)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "processed"
    payment = payment_row(checkout["payment_id"])
    assert payment.status == "completed" and payment.transaction_id == "pi_3TestIntent"
    assert client.post(hook, content=payload, headers=signature).json()["status"] == "duplicate"
    assert count_enrollments(student.id, paid_course.id) == 1

    # Admin refund goes to Stripe's refunds API; the charge.refunded webhook then changes nothing.
    stripe_env.routes[("POST", "/v1/refunds")] = (
        200,
        {
            "id": "re_123",
            "object": "refund",
            "status": "succeeded",
            "payment_intent": "pi_3TestIntent",
        },
    )
    refund = client.post(
        f"/api/v1/payments/{checkout['payment_id']}/refund",
        json={"reason": "duplicate purchase"},
        headers=auth_headers(admin),
    )
    assert refund.status_code == 200, refund.text
    assert parse_qs(stripe_env.requests[-1]["body"])["payment_intent"] == ["pi_3TestIntent"]
    assert count_enrollments(student.id, paid_course.id) == 0
    charge = stripe_event(
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": "pi_3TestIntent",
            "refunded": True,
            "amount_refunded": 4900,
        },
    )
    response = client.post(
        hook, content=charge, headers={"Stripe-Signature": stripe_signature(charge, STRIPE_WHSEC)}
    )
    assert response.json()["status"] == "ignored"


def test_stripe_refund_webhook_revokes_access(
    client: Any, student: Any, paid_course: Any, auth_headers: Any, stripe_env: FakeGateway
) -> None:
    stripe_env.routes[("POST", "/v1/checkout/sessions")] = (200, stripe_session("cs_test_r", "x"))
    checkout = _open(client, auth_headers(student), paid_course)
    hook = "/api/v1/payments/webhooks/stripe"
    paid = stripe_event(
        "checkout.session.completed", stripe_session("cs_test_r", checkout["payment_id"], "paid")
    )
    client.post(
        hook, content=paid, headers={"Stripe-Signature": stripe_signature(paid, STRIPE_WHSEC)}
    )
    partial = stripe_event(
        "charge.refunded",
        {"id": "ch_2", "object": "charge", "payment_intent": "pi_3TestIntent", "refunded": False},
    )
    client.post(
        hook, content=partial, headers={"Stripe-Signature": stripe_signature(partial, STRIPE_WHSEC)}
    )
    assert payment_row(checkout["payment_id"]).status == "completed"
    full = stripe_event(
        "charge.refunded",
        {"id": "ch_2", "object": "charge", "payment_intent": "pi_3TestIntent", "refunded": True},
    )
    response = client.post(
        hook, content=full, headers={"Stripe-Signature": stripe_signature(full, STRIPE_WHSEC)}
    )
    assert response.json()["status"] == "processed"
    assert payment_row(checkout["payment_id"]).status == "refunded"
    assert count_enrollments(student.id, paid_course.id) == 0


def test_gateway_outage_creates_no_payment(
    client: Any, student: Any, paid_course: Any, auth_headers: Any, stripe_env: FakeGateway
) -> None:
    stripe_env.routes[("POST", "/v1/checkout/sessions")] = (
        400,
        {"error": {"type": "invalid_request_error", "message": "No such price"}},
    )
    response = client.post(
        INTENT, json={"course_id": str(paid_course.id)}, headers=auth_headers(student)
    )
    assert response.status_code == 503
    assert response.json()["code"] == "gateway_unavailable"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0


# --- MyFatoorah ------------------------------------------------------------------------------


def test_myfatoorah_signed_string_follows_the_documented_format() -> None:
    data = myfatoorah_payment_event("6409988", "p")["Data"]
    assert myfatoorah.signed_string("PAYMENT_STATUS_CHANGED", data) == (
        "Invoice.Id=6409988,Invoice.Status=PAID,Transaction.Status=SUCCESS,"
        "Transaction.PaymentId=07076409988323998875,Invoice.ExternalIdentifier="
    )


def test_myfatoorah_checkout_webhook_and_refund(
    client: Any,
    student: Any,
    admin: Any,
    instructor: Any,
    auth_headers: Any,
    env: Any,
    fake: FakeGateway,
) -> None:
    course = create_course(instructor, price="49.000", currency="USD")
    env(
        PAYMENT_GATEWAY="myfatoorah",
        MYFATOORAH_API_KEY="mf-token",
        MYFATOORAH_BASE_URL=fake.url,
        MYFATOORAH_WEBHOOK_SECRET=MYFATOORAH_SECRET,
    )
    fake.routes[("POST", "/v2/SendPayment")] = (
        200,
        {
            "IsSuccess": True,
            "Message": "Invoice Created Successfully!",
            "ValidationErrors": None,
            "Data": {
                "InvoiceId": 6409988,
                "InvoiceURL": "https://demo.MyFatoorah.com/KWT/ie/0106409988",
                "CustomerReference": "ref",
                "UserDefinedField": "udf",
            },
        },
    )
    checkout = _open(client, auth_headers(student), course)
    assert checkout["checkout_url"] == "https://demo.MyFatoorah.com/KWT/ie/0106409988"
    sent = fake.requests[0]
    assert sent["headers"]["Authorization"] == "Bearer mf-token"
    body = json.loads(sent["body"])
    assert body["InvoiceValue"] == 49.0 and body["DisplayCurrencyIso"] == "USD"
    assert body["NotificationOption"] == "LNK"

    hook = "/api/v1/payments/webhooks/myfatoorah"
    event = myfatoorah_payment_event("6409988", checkout["payment_id"])
    payload = json.dumps(event).encode()
    signature = myfatoorah_event_signature(event)
    tampered = dict(
        event,
        Data={
            **event["Data"],
            "Transaction": {**event["Data"]["Transaction"], "PaymentId": "0000"},
        },
    )
    bad = client.post(
        hook, content=json.dumps(tampered).encode(), headers={"MyFatoorah-Signature": signature}
    )
    assert bad.status_code == 400
    forged = client.post(
        hook,
        content=payload,
        headers={"MyFatoorah-Signature": myfatoorah_event_signature(event, "wrong")},
    )
    assert forged.status_code == 400
    mismatch = myfatoorah_payment_event("6409988", checkout["payment_id"], value="4.900")
    response = client.post(
        hook,
        content=json.dumps(mismatch).encode(),
        headers={"MyFatoorah-Signature": myfatoorah_event_signature(mismatch)},
    )
    assert response.status_code == 422

    ok = client.post(hook, content=payload, headers={"MyFatoorah-Signature": signature})
    assert ok.status_code == 200 and ok.json()["status"] == "processed", ok.text
    payment = payment_row(checkout["payment_id"])
    assert payment.status == "completed" and payment.transaction_id == "07076409988323998875"
    assert (
        client.post(hook, content=payload, headers={"MyFatoorah-Signature": signature}).json()[
            "status"
        ]
        == "duplicate"
    )
    assert count_enrollments(student.id, course.id) == 1

    fake.routes[("POST", "/v2/MakeRefund")] = (
        200,
        {
            "IsSuccess": True,
            "Message": "Refund request submitted",
            "Data": {
                "Key": "07076409988323998875",
                "RefundId": 41,
                "RefundReference": "2026000001",
                "Amount": 49.0,
            },
        },
    )
    refund = client.post(
        f"/api/v1/payments/{checkout['payment_id']}/refund",
        json={"reason": "r"},
        headers=auth_headers(admin),
    )
    assert refund.status_code == 200, refund.text
    assert json.loads(fake.requests[-1]["body"])["KeyType"] == "PaymentId"
    assert count_enrollments(student.id, course.id) == 0


def test_myfatoorah_refund_event_is_verified_with_its_own_fields(
    client: Any, student: Any, instructor: Any, env: Any
) -> None:
    env(PAYMENT_GATEWAY="myfatoorah", MYFATOORAH_WEBHOOK_SECRET=MYFATOORAH_SECRET)
    course = create_course(instructor)
    payment = create_payment(student, course=course, gateway="myfatoorah", gateway_reference="777")
    event = {
        "Event": {
            "Code": 2,
            "Name": "REFUND_STATUS_CHANGED",
            "CountryIsoCode": "KWT",
            "CreationDate": "2026-11-22T10:00:00Z",
            "Reference": "WH-refund-1",
        },
        "Data": {
            "Refund": {"Id": "R-55", "Status": "REFUNDED", "Reference": "2026000001"},
            "Amount": {"ValueInBaseCurrency": "15.000", "BaseCurrency": "KWD"},
            "ReferencedInvoice": {"Id": "777"},
        },
    }
    signature = myfatoorah_signature(
        MYFATOORAH_SECRET,
        [
            ("Refund.Id", "R-55"),
            ("Refund.Status", "REFUNDED"),
            ("Amount.ValueInBaseCurrency", "15.000"),
            ("ReferencedInvoice.Id", "777"),
        ],
    )
    response = client.post(
        "/api/v1/payments/webhooks/myfatoorah",
        content=json.dumps(event).encode(),
        headers={"MyFatoorah-Signature": signature},
    )
    assert response.status_code == 200, response.text
    assert payment_row(str(payment.id)).status == "refunded"


# --- Paymob ----------------------------------------------------------------------------------


def test_paymob_hmac_string_matches_the_documented_example() -> None:
    obj = paymob_transaction(
        217503754, id=192036465, amount_cents=100000, created_at="2024-06-13T11:33:44.592345"
    )
    obj["integration_id"] = 4097558
    assert paymob.hmac_string(obj) == (
        "1000002024-06-13T11:33:44.592345EGPfalsefalse1920364654097558truefalsefalsefalse"
        "truefalse217503754302852false2346MasterCardcardtrue"
    )


def test_paymob_checkout_and_callback(
    client: Any, student: Any, instructor: Any, auth_headers: Any, env: Any, fake: FakeGateway
) -> None:
    course = create_course(instructor, price="49.00", currency="EGP")
    env(
        PAYMENT_GATEWAY="paymob",
        PAYMOB_SECRET_KEY="egy_sk_test",
        PAYMOB_PUBLIC_KEY="egy_pk_test",
        PAYMOB_INTEGRATION_ID="4097558",
        PAYMOB_HMAC_SECRET=PAYMOB_SECRET,
        PAYMOB_BASE_URL=fake.url,
    )
    fake.routes[("POST", "/v1/intention/")] = (
        201,
        {
            "id": "pi_test_abc",
            "client_secret": "egy_csk_test_abc",
            "intention_order_id": 217503754,
            "payment_keys": [{"integration": 4097558, "key": "ZXlK", "gateway_type": "VPC"}],
            "special_reference": "ref",
            "status": "intended",
            "object": "paymentintention",
        },
    )
    checkout = _open(client, auth_headers(student), course)
    assert checkout["checkout_url"].endswith(
        "/unifiedcheckout/?publicKey=egy_pk_test&clientSecret=egy_csk_test_abc"
    )
    assert checkout["client_secret"] == "egy_csk_test_abc"
    sent = json.loads(fake.requests[0]["body"])
    assert sent["amount"] == 4900 and sent["payment_methods"] == [4097558]
    assert fake.requests[0]["headers"]["Authorization"] == "Token egy_sk_test"

    hook = "/api/v1/payments/webhooks/paymob"
    callback = {"type": "TRANSACTION", "obj": paymob_transaction(217503754)}
    body = json.dumps(callback).encode()
    good = paymob_hmac(callback["obj"], PAYMOB_SECRET)
    tampered = json.dumps(
        {"type": "TRANSACTION", "obj": paymob_transaction(217503754, amount_cents=100)}
    ).encode()
    assert client.post(hook, params={"hmac": good}, content=tampered).status_code == 400
    assert client.post(hook, content=body).status_code == 400
    assert payment_row(checkout["payment_id"]).status == "pending"

    ok = client.post(hook, params={"hmac": good}, content=body)
    assert ok.status_code == 200 and ok.json()["status"] == "processed", ok.text
    assert payment_row(checkout["payment_id"]).status == "completed"
    assert client.post(hook, params={"hmac": good}, content=body).json()["status"] == "duplicate"
    assert count_enrollments(student.id, course.id) == 1

    refund_obj = paymob_transaction(
        217503754, id=192036999, is_refunded=True, has_parent_transaction=True
    )
    refund_body = json.dumps({"type": "TRANSACTION", "obj": refund_obj}).encode()
    response = client.post(
        hook, params={"hmac": paymob_hmac(refund_obj, PAYMOB_SECRET)}, content=refund_body
    )
    assert response.json()["status"] == "processed"
    assert payment_row(checkout["payment_id"]).status == "refunded"
    assert count_enrollments(student.id, course.id) == 0


def test_paymob_callback_is_matched_on_its_signed_order_not_the_unsigned_merchant_order_id(
    client: Any, student: Any, other_student: Any, instructor: Any, env: Any
) -> None:
    env(PAYMOB_HMAC_SECRET=PAYMOB_SECRET)
    course = create_course(instructor, price="49.00", currency="EGP")
    fields: dict[str, Any] = {
        "course": course,
        "currency": "EGP",
        "gateway": "paymob",
        "status": "pending",
    }
    payment = create_payment(student, gateway_reference="217503754", **fields)
    other = create_payment(other_student, gateway_reference="217509999", **fields)
    obj = paymob_transaction(217503754)
    # Outside the fields the HMAC covers: anyone relaying the callback could change it.
    obj["order"]["merchant_order_id"] = str(other.id)
    response = client.post(
        "/api/v1/payments/webhooks/paymob",
        params={"hmac": paymob_hmac(obj, PAYMOB_SECRET)},
        content=json.dumps({"type": "TRANSACTION", "obj": obj}).encode(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["payment_id"] == str(payment.id)
    assert payment_row(str(payment.id)).status == "completed"
    assert payment_row(str(other.id)).status == "pending"
    assert count_enrollments(student.id, course.id) == 1
    assert count_enrollments(other_student.id, course.id) == 0
