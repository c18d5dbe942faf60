"""Reconciliation: asking a gateway where a payment stands when its webhook never came, and
applying the answer as that webhook would be. No transaction is open on the session (nor, on
SQLite, the write lock held) while the gateway answers."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import outside_transaction
from app.core.errors import Conflict, NotFound, ServiceUnavailable
from app.modules.payments import repository
from app.modules.payments.gateways import EventKind, GatewayError, StatusQuery, get_gateway
from app.modules.payments.models import Payment
from app.modules.payments.services.events import TRANSITIONS, apply_gateway_event
from app.modules.payments.services.ledger import WebhookOutcome

logger = logging.getLogger("app.payments")

# The `source` of events a gateway reported through its API rather than a webhook.
RECONCILIATION = "reconciliation"


def _status_query(payment: Payment) -> StatusQuery:
    if payment.gateway_reference is None:
        raise Conflict("The payment has no checkout at its gateway", code="not_reconcilable")
    return StatusQuery(
        gateway=payment.gateway,
        payment_id=str(payment.id),
        reference=payment.gateway_reference,
        amount=payment.amount,
        currency=payment.currency,
        created_at=payment.created_at,
    )


def claim_payments_to_reconcile(db: Session, *, now: datetime) -> list[StatusQuery]:
    """The pending payments to ask their gateway about this run: pending for longer than
    PAYMENT_RECONCILIATION_MIN_AGE_MINUTES (their webhook should have come) and less than
    PAYMENT_RECONCILIATION_MAX_AGE_DAYS, at most PAYMENT_RECONCILIATION_BATCH_SIZE, those asked
    longest ago first."""
    settings = get_settings()
    payments = repository.claim_pending_payments(
        db,
        created_after=now - timedelta(days=settings.PAYMENT_RECONCILIATION_MAX_AGE_DAYS),
        created_before=now - timedelta(minutes=settings.PAYMENT_RECONCILIATION_MIN_AGE_MINUTES),
        now=now,
        limit=settings.PAYMENT_RECONCILIATION_BATCH_SIZE,
    )
    return [_status_query(payment) for payment in payments]


def reconcile(db: Session, query: StatusQuery) -> WebhookOutcome:
    """Ask the gateway about one payment (no transaction open on `db` meanwhile) and apply its
    answer as its webhook would be."""
    try:
        with outside_transaction(db):
            event = get_gateway(query.gateway).fetch_status(query)
    except GatewayError as exc:
        logger.warning(
            "status of payment %s at %s unavailable: %s", query.payment_id, query.gateway, exc
        )
        raise ServiceUnavailable(
            "The payment gateway could not report the payment's status",
            code="gateway_unavailable",
        ) from exc
    if event is None:
        return WebhookOutcome("pending")
    return apply_gateway_event(db, gateway=query.gateway, event=event, source=RECONCILIATION)


def reconcile_payment(db: Session, *, payment_id: uuid.UUID) -> WebhookOutcome:
    """`reconcile` one open payment now (admin); the outcome carries the payment as it ends."""
    payment = db.get(Payment, payment_id)
    if payment is None:
        raise NotFound("Payment not found", code="payment_not_found")
    # The states a completion may still move (a late success after a failure completes).
    if payment.status not in TRANSITIONS[EventKind.COMPLETED]:
        raise Conflict(
            f"Only an open payment can be reconciled (this one is {payment.status})",
            code="not_reconcilable",
        )
    outcome = reconcile(db, _status_query(payment))
    return WebhookOutcome(outcome.status, db.get(Payment, payment_id, populate_existing=True))
