"""Gateway events: verifying a webhook, deduplicating it, and the payment state machine that
applies it (what a completion grants and a refund revokes)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import BadRequest, BusinessRuleViolation, Conflict
from app.core.events import emit
from app.modules.courses.models import Course
from app.modules.enrollments import service as enrollment_service
from app.modules.notifications.inbox import Message, notify
from app.modules.notifications.models import NotificationCategory
from app.modules.payments import repository
from app.modules.payments.gateways import EventKind, GatewayEvent, get_gateway
from app.modules.payments.models import Payment, PaymentStatus, Subscription
from app.modules.payments.services.ledger import (
    PAYMENT_COMPLETED,
    PAYMENT_REFUNDED,
    WebhookOutcome,
    event_payload,
    record,
)
from app.modules.payments.services.subscriptions import activate_subscription, end_subscription
from app.modules.users.models import User
from app.modules.webhooks.signing import InvalidSignature

logger = logging.getLogger("app.payments")

# Which states an event may move a payment from; anything else is recorded and ignored.
TRANSITIONS: dict[EventKind, tuple[PaymentStatus, ...]] = {
    EventKind.COMPLETED: (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.CANCELLED),
    EventKind.FAILED: (PaymentStatus.PENDING,),
    EventKind.CANCELLED: (PaymentStatus.PENDING,),
    EventKind.REFUNDED: (
        PaymentStatus.COMPLETED,
        PaymentStatus.PENDING,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELLED,
    ),
}
_TARGET: dict[EventKind, PaymentStatus] = {
    EventKind.COMPLETED: PaymentStatus.COMPLETED,
    EventKind.FAILED: PaymentStatus.FAILED,
    EventKind.CANCELLED: PaymentStatus.CANCELLED,
    EventKind.REFUNDED: PaymentStatus.REFUNDED,
}


def _grant(db: Session, payment: Payment) -> None:
    if payment.course_id is not None:
        enrollment = enrollment_service.activate_paid_enrollment(
            db, student_id=payment.user_id, course_id=payment.course_id
        )
        payment.enrollment_id = enrollment.id
    elif payment.subscription_id is not None:
        activate_subscription(db, payment)


def _revoke(db: Session, payment: Payment) -> None:
    if payment.course_id is not None:
        enrollment_service.revoke_paid_access(db, pairs=[(payment.user_id, payment.course_id)])
    elif payment.subscription_id is not None:
        end_subscription(db, payment.subscription_id)


def _send_receipt(db: Session, payment: Payment) -> None:
    user = db.get(User, payment.user_id)
    if user is None:
        return
    if payment.course_id is not None:
        course = db.get(Course, payment.course_id)
        item = course.title if course else "Course"
    else:
        subscription = db.get(Subscription, payment.subscription_id)
        item = f"{subscription.plan_name} subscription" if subscription else "Subscription"
    notify(
        db,
        user,
        NotificationCategory.PAYMENTS,
        Message(
            title=f"Payment received: {payment.amount} {payment.currency}",
            body=f"Receipt for {item}.",
            template="payment_receipt",
            context={
                "item": item,
                "amount": str(payment.amount),
                "currency": payment.currency,
                "payment_id": str(payment.id),
                "gateway": payment.gateway,
                "paid_at": (payment.completed_at or utcnow()).strftime("%Y-%m-%d %H:%M UTC"),
            },
        ),
    )


def transition(
    db: Session,
    payment: Payment,
    kind: EventKind,
    *,
    transaction_id: str | None = None,
    payment_method: str | None = None,
    note: str | None = None,
) -> bool:
    """Apply `kind` to a locked payment; False when the current state does not allow it."""
    if PaymentStatus(payment.status) not in TRANSITIONS.get(kind, ()):
        return False
    previous = payment.status
    now = utcnow()
    payment.status = _TARGET[kind].value
    if kind is EventKind.COMPLETED:
        if transaction_id:
            payment.transaction_id = transaction_id
        payment.payment_method = payment_method or payment.payment_method
        payment.completed_at = now
        payment.failure_reason = None
        _grant(db, payment)
        emit(db, PAYMENT_COMPLETED, event_payload(payment))
        _send_receipt(db, payment)
    elif kind is EventKind.REFUNDED:
        payment.refunded_at = now
        if previous == PaymentStatus.COMPLETED:
            _revoke(db, payment)
        emit(db, PAYMENT_REFUNDED, event_payload(payment))
    elif kind is EventKind.FAILED:
        payment.failure_reason = note
    db.flush()
    return True


def _parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _check_amount(payment: Payment, event: GatewayEvent) -> None:
    if event.amount is None or event.currency is None:
        raise BusinessRuleViolation(
            "The payment event carries no amount or currency", code="amount_mismatch"
        )
    if event.amount != payment.amount or event.currency.upper() != payment.currency:
        logger.warning(
            "amount mismatch on payment %s: expected %s %s, got %s %s",
            payment.id,
            payment.amount,
            payment.currency,
            event.amount,
            event.currency,
        )
        raise BusinessRuleViolation(
            "The paid amount or currency does not match the payment", code="amount_mismatch"
        )


def _payment_for_event(db: Session, *, gateway: str, event: GatewayEvent) -> Payment | None:
    """The payment `event` is about, row-locked: the one its strongest identifier names (our
    payment id, then the checkout reference, then the gateway's transaction id), and only if
    no other identifier it carries names another payment. An identifier that names no payment
    says nothing either way (a completion brings its new transaction id)."""
    named = [
        (name, found)
        for name, found in repository.payments_named_by_event(
            db,
            gateway=gateway,
            payment_id=_parse_uuid(event.payment_id),
            reference=event.reference,
            transaction_id=event.transaction_id,
        )
        if found is not None
    ]
    if not named:
        return None
    chosen_by, payment_id = named[0]
    conflicting = [name for name, found in named if found != payment_id]
    if conflicting:
        logger.warning(
            "refused %s event %s: its %s names payment %s but its %s another payment",
            gateway,
            event.event_id,
            chosen_by,
            payment_id,
            " and ".join(conflicting),
        )
        raise Conflict(
            f"The event's {chosen_by} and {' and '.join(conflicting)} name different payments",
            code="payment_identifier_conflict",
        )
    return repository.lock_payment(db, payment_id)


def handle_webhook(
    db: Session,
    *,
    gateway: str,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str],
) -> WebhookOutcome:
    """Verify, deduplicate and apply one gateway webhook."""
    try:
        event = get_gateway(gateway).parse_webhook(body, headers, query)
    except InvalidSignature as exc:
        logger.warning("rejected %s webhook: %s", gateway, exc)
        raise BadRequest("The webhook signature is invalid", code="invalid_signature") from exc
    return apply_gateway_event(db, gateway=gateway, event=event, source="webhook")


def apply_gateway_event(
    db: Session, *, gateway: str, event: GatewayEvent, source: str
) -> WebhookOutcome:
    """Deduplicate and apply one event a gateway reported, by webhook or through its API
    (the only ways a payment completes)."""
    if repository.event_exists(db, gateway, event.event_id):
        return WebhookOutcome("duplicate")
    payment = _payment_for_event(db, gateway=gateway, event=event)
    if payment is not None and event.kind is EventKind.COMPLETED:
        _check_amount(payment, event)
    try:
        # The unique (gateway, event_id) row is the idempotency guard: a concurrent delivery
        # of the same event waits on it and then fails here, changing nothing.
        with db.begin_nested():
            entry = record(
                db,
                payment,
                gateway=gateway,
                event_type=event.event_type,
                source=source,
                event_id=event.event_id,
                payload=event.payload,
                from_status=payment.status if payment else None,
            )
    except IntegrityError:
        return WebhookOutcome("duplicate")
    if payment is None or event.kind is EventKind.IGNORED:
        entry.note = "no matching payment" if payment is None else "no state change"
        db.flush()
        return WebhookOutcome("ignored", payment)
    changed = transition(
        db,
        payment,
        event.kind,
        transaction_id=event.transaction_id if event.kind is EventKind.COMPLETED else None,
        payment_method=event.payment_method,
        note=f"{event.event_type} reported by {gateway}",
    )
    entry.to_status = payment.status
    if not changed:
        entry.note = f"{event.kind.value} ignored: payment is {payment.status}"
    db.flush()
    return WebhookOutcome("processed" if changed else "ignored", payment)
