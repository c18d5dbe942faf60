"""Refunds: a completed payment refunded in full at its gateway, and what it bought revoked.

The gateway is called with no transaction open. Before the call, the refund is claimed by
its audit row, unique per payment (the same guard that deduplicates gateway events), so two
concurrent requests cannot both refund; the loser is told a refund is under way. The claim
is committed by the transaction's owner (the route) before `refund_claimed` asks the
gateway. A refused or failed call releases the claim, leaving the payment as it was (the
owner commits that release with the refusal); a success is applied after (a no-op if the
gateway's refund webhook came first).

A claim older than `STALE_CLAIM_AGE` was left by a process that ended between claiming and
finishing; a new request takes it over instead of being refused for ever. The gateway may have
refunded already: Stripe's call carries an idempotency key (the same refund is answered
again), and a second full refund at MyFatoorah or Paymob is refused by the gateway (the
refusal releases the claim; the gateway's refund webhook settles the payment)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.database import outside_transaction, utcnow
from app.core.errors import Conflict, NotFound, ServiceUnavailable
from app.modules.payments import repository
from app.modules.payments.gateways import EventKind, GatewayError, get_gateway
from app.modules.payments.models import Payment, PaymentStatus
from app.modules.payments.services.events import transition
from app.modules.payments.services.ledger import record
from app.modules.users.models import User

logger = logging.getLogger("app.payments")

REFUND_REQUESTED = "refund.requested"
# Far longer than any gateway call lasts: 20 s at MyFatoorah and Paymob; at Stripe 80 s per
# try, three tries at most.
STALE_CLAIM_AGE = timedelta(minutes=15)


@dataclass(frozen=True)
class Claim:
    gateway: str
    event_id: str
    transaction_id: str | None
    amount: Decimal
    currency: str


def _claim_event_id(payment_id: uuid.UUID) -> str:
    return f"refund:{payment_id}"


def claim_refund(db: Session, *, payment_id: uuid.UUID, admin: User, reason: str) -> Claim:
    """Claim the refund of a completed payment (its owner commits the claim before
    `refund_claimed`)."""
    payment = db.get(Payment, payment_id)
    if payment is None:
        raise NotFound("Payment not found", code="payment_not_found")
    if payment.status != PaymentStatus.COMPLETED:
        raise Conflict(
            f"Only completed payments can be refunded (this one is {payment.status})",
            code="not_refundable",
        )
    claim = Claim(
        payment.gateway,
        _claim_event_id(payment.id),
        payment.transaction_id,
        payment.amount,
        payment.currency,
    )
    try:
        with db.begin_nested():
            record(
                db,
                payment,
                gateway=claim.gateway,
                event_type=REFUND_REQUESTED,
                source="admin",
                event_id=claim.event_id,
                from_status=payment.status,
                note=f"by {admin.email}: {reason}",
            )
    except IntegrityError as exc:
        now = utcnow()
        retaken = repository.retake_stale_event(
            db,
            gateway=claim.gateway,
            event_id=claim.event_id,
            older_than=now - STALE_CLAIM_AGE,
            now=now,
        )
        if not retaken:
            raise Conflict(
                "A refund of this payment is already under way", code="refund_in_progress"
            ) from exc
        logger.warning("refund of %s: taking over a claim left unfinished", payment.id)
    return claim


def refund_claimed(
    db: Session, claim: Claim, *, payment_id: uuid.UUID, admin: User, reason: str
) -> Payment:
    """Refund a claimed payment in full at its gateway and revoke what it bought. A failure
    releases the claim in `db` before raising `ServiceUnavailable`."""
    try:
        with outside_transaction(db):
            refund_id = get_gateway(claim.gateway).refund(
                payment_id=str(payment_id),
                transaction_id=claim.transaction_id,
                amount=claim.amount,
                currency=claim.currency,
            )
    except GatewayError as exc:
        logger.warning("refund of %s at %s failed: %s", payment_id, claim.gateway, exc)
        repository.delete_event(db, gateway=claim.gateway, event_id=claim.event_id)
        raise ServiceUnavailable(
            "The payment gateway refused or could not process the refund",
            code="refund_failed",
        ) from exc
    payment = repository.lock_payment(db, payment_id)
    assert payment is not None  # payments are never deleted
    previous = payment.status
    transition(db, payment, EventKind.REFUNDED)
    payment.metadata_ = {**(payment.metadata_ or {}), "refund_id": refund_id}
    record(
        db,
        payment,
        gateway=payment.gateway,
        event_type="payment.refunded",
        source="admin",
        from_status=previous,
        to_status=payment.status,
        note=f"by {admin.email}: {reason}",
    )
    return payment
