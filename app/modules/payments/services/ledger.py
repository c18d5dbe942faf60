"""What every payment flow shares: the configured gateway, the audit trail (`record`), the
outcome of applying a gateway event, and the events payments publish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.modules.payments.models import Payment, PaymentEvent

PAYMENT_COMPLETED = "payment.completed"
PAYMENT_REFUNDED = "payment.refunded"
SUBSCRIPTION_ACTIVATED = "subscription.activated"
SUBSCRIPTION_CANCELLED = "subscription.cancelled"


def configured_gateway() -> str:
    return get_settings().PAYMENT_GATEWAY


@dataclass(frozen=True)
class WebhookOutcome:
    # processed, duplicate, ignored; or pending: the gateway has no final answer yet
    status: str
    payment: Payment | None = None


def record(
    db: Session,
    payment: Payment | None,
    *,
    gateway: str,
    event_type: str,
    source: str,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> PaymentEvent:
    event = PaymentEvent(
        payment_id=payment.id if payment else None,
        gateway=gateway,
        event_id=event_id,
        event_type=event_type,
        source=source,
        from_status=from_status,
        to_status=to_status,
        note=note[:500] if note else None,
        payload=payload,
    )
    db.add(event)
    db.flush()
    return event


def event_payload(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": str(payment.id),
        "user_id": str(payment.user_id),
        "course_id": str(payment.course_id) if payment.course_id else None,
        "subscription_id": str(payment.subscription_id) if payment.subscription_id else None,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "gateway": payment.gateway,
        "status": payment.status,
    }
