"""Building gateway webhooks signed exactly as each gateway documents (independently of the
application's own verification code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from app.core.database import session_scope
from app.modules.enrollments.models import Enrollment
from app.modules.payments.models import Payment, PaymentEvent

SANDBOX_SECRET = "sandbox-webhook-secret-for-tests"


def sandbox_webhook(
    payment: dict[str, Any],
    *,
    event_type: str = "payment.succeeded",
    amount: str | None = None,
    currency: str | None = None,
    event_id: str | None = None,
    secret: str = SANDBOX_SECRET,
    timestamp: int | None = None,
    transaction_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": event_type,
            "data": {
                "payment_id": payment["payment_id"],
                "reference": payment.get("reference"),
                "amount": amount or payment["amount"],
                "currency": currency or payment["currency"],
                "transaction_id": transaction_id or f"txn_{uuid.uuid4().hex[:12]}",
            },
        }
    ).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Sandbox-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe-Signature: t=<ts>,v1=hex(HMAC-SHA256(secret, "<ts>.<payload>"))."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def myfatoorah_signature(secret: str, pairs: list[tuple[str, Any]]) -> str:
    """Base64 HMAC-SHA256 of "Key=Value,Key=Value" in the documented order (null -> "")."""
    text = ",".join(f"{key}={'' if value is None else value}" for key, value in pairs)
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


PAYMOB_FIELDS = [
    "amount_cents",
    "created_at",
    "currency",
    "error_occured",
    "has_parent_transaction",
    "id",
    "integration_id",
    "is_3d_secure",
    "is_auth",
    "is_capture",
    "is_refunded",
    "is_standalone_payment",
    "is_voided",
    "order.id",
    "owner",
    "pending",
    "source_data.pan",
    "source_data.sub_type",
    "source_data.type",
    "success",
]


def paymob_hmac(obj: dict[str, Any], secret: str) -> str:
    """HMAC-SHA512 (hex) of the documented fields' values concatenated in order."""

    def value(path: str) -> str:
        current: Any = obj
        for key in path.split("."):
            current = current[key]
        if isinstance(current, bool):
            return "true" if current else "false"
        return str(current)

    text = "".join(value(path) for path in PAYMOB_FIELDS)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def payment_row(payment_id: str) -> Payment:
    with session_scope() as session:
        payment = session.get(Payment, uuid.UUID(payment_id))
        assert payment is not None
        session.expunge(payment)
        return payment


def count_enrollments(student_id: uuid.UUID, course_id: uuid.UUID) -> int:
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(
                    Enrollment.student_id == student_id,
                    Enrollment.course_id == course_id,
                    Enrollment.status == "active",
                )
            )
            or 0
        )


def events_recorded(event_id: str) -> int:
    """How many audit entries a gateway event id left (0 when the event was refused)."""
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(PaymentEvent)
                .where(PaymentEvent.event_id == event_id)
            )
            or 0
        )


def event_types(payment_id: str) -> list[tuple[str, str | None, str | None]]:
    with session_scope() as session:
        rows = session.execute(
            select(PaymentEvent.event_type, PaymentEvent.source, PaymentEvent.to_status)
            .where(PaymentEvent.payment_id == uuid.UUID(payment_id))
            .order_by(PaymentEvent.created_at)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


# --- gateway payloads, shaped as each gateway documents them ----------------------------------

STRIPE_WHSEC = "whsec_test_0123456789abcdef"
MYFATOORAH_SECRET = "mf-webhook-secret"
PAYMOB_SECRET = "paymob-hmac-secret"


def stripe_session(
    session_id: str,
    payment_id: str,
    status: str = "unpaid",
    *,
    session_status: str | None = None,
    amount_total: int = 4900,
) -> dict[str, Any]:
    """A Checkout Session; `status` is its payment_status, `session_status` its status
    (complete when paid, else open, unless given)."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount_total,
        "currency": "usd",
        "client_reference_id": payment_id,
        "metadata": {"payment_id": payment_id},
        "mode": "payment",
        "payment_intent": "pi_3TestIntent" if status == "paid" else None,
        "payment_method_types": ["card"],
        "payment_status": status,
        "status": session_status or ("complete" if status == "paid" else "open"),
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
    }


def stripe_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": obj},
        }
    ).encode()


def myfatoorah_payment_event(
    invoice_id: str, payment_id: str, *, status: str = "SUCCESS", value: str = "49.000"
) -> dict[str, Any]:
    return {
        "Event": {
            "Code": 1,
            "Name": "PAYMENT_STATUS_CHANGED",
            "CountryIsoCode": "KWT",
            "CreationDate": "2026-11-22T10:00:00Z",
            "Reference": f"WH-{uuid.uuid4().hex[:10]}",
        },
        "Data": {
            "Invoice": {
                "Id": invoice_id,
                "Status": "PAID" if status == "SUCCESS" else "PENDING",
                "Reference": "2026000073",
                "CreationDate": "2026-11-22T09:59:00Z",
                "ExpirationDate": "2026-11-25T09:59:00Z",
                "ExternalIdentifier": None,
                "UserDefinedField": payment_id,
            },
            "Transaction": {
                "Id": "86781",
                "Status": status,
                "PaymentMethod": "VISA/MASTER",
                "PaymentId": "07076409988323998875",
                "ReferenceId": "106310001097",
                "TrackId": "22-11-2026_477336",
                "AuthorizationId": "B68413",
                "TransactionDate": "2026-11-22T10:00:00Z",
            },
            "Customer": {"Name": "Test Student", "Mobile": "", "Email": "student@example.com"},
            "Amount": {
                "BaseCurrency": "KWD",
                "ValueInBaseCurrency": "15.000",
                "DisplayCurrency": "USD",
                "ValueInDisplayCurrency": value,
                "PayCurrency": "KWD",
                "ValueInPayCurrency": "15.000",
            },
        },
    }


def myfatoorah_event_signature(event: dict[str, Any], secret: str = MYFATOORAH_SECRET) -> str:
    data = event["Data"]
    return myfatoorah_signature(
        secret,
        [
            ("Invoice.Id", data["Invoice"]["Id"]),
            ("Invoice.Status", data["Invoice"]["Status"]),
            ("Transaction.Status", data["Transaction"]["Status"]),
            ("Transaction.PaymentId", data["Transaction"]["PaymentId"]),
            ("Invoice.ExternalIdentifier", data["Invoice"]["ExternalIdentifier"]),
        ],
    )


def paymob_transaction(order_id: int, **overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": 192036465,
        "pending": False,
        "amount_cents": 4900,
        "success": True,
        "is_auth": False,
        "is_capture": False,
        "is_standalone_payment": True,
        "is_voided": False,
        "is_refunded": False,
        "is_3d_secure": True,
        "integration_id": 4097558,
        "profile_id": 1,
        "has_parent_transaction": False,
        "order": {
            "id": order_id,
            "merchant_order_id": None,
            "amount_cents": 4900,
            "currency": "EGP",
        },
        "created_at": "2026-11-22T11:33:44.592345",
        "currency": "EGP",
        "source_data": {"pan": "2346", "type": "card", "sub_type": "MasterCard"},
        "error_occured": False,
        "owner": 302852,
        "data": {"message": "Approved"},
    }
    obj.update(overrides)
    return obj
