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
                "transaction_id": f"txn_{uuid.uuid4().hex[:12]}",
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


def event_types(payment_id: str) -> list[tuple[str, str | None, str | None]]:
    with session_scope() as session:
        rows = session.execute(
            select(PaymentEvent.event_type, PaymentEvent.source, PaymentEvent.to_status)
            .where(PaymentEvent.payment_id == uuid.UUID(payment_id))
            .order_by(PaymentEvent.created_at)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]
