"""Payments and subscriptions.

Rules:
- Amount and currency always come from the course or plan on the server.
- Only the gateway moves a payment to completed: its verified webhook, or its own API
  answering a status query (reconciliation, for a payment whose webhook never came); no
  client-callable endpoint can. Both reach `apply_gateway_event`. Each gateway event is
  stored once (unique gateway + event id), so a replayed or concurrently duplicated webhook
  changes nothing the second time; the payment row is locked while an event is applied, so
  events for one payment apply one at a time, and a webhook arriving after reconciliation
  (or the other way round) finds the work done.
- Out-of-order events: a payment never leaves `refunded`, and a late `failed`/`cancelled`
  never overrides `completed`; a late success after a failure still completes.
- A completion whose amount or currency differs from the payment is refused (422).
- Completing a course payment activates the enrollment in the same transaction; completing
  a subscription payment starts the paid period.
- Refund rule: a (full) refund revokes what the payment bought. For a course, the
  enrollment is dropped (its history kept). For a subscription, it ends at once and the
  courses enrolled through it lose access, except those the student also bought.
- Subscriptions whose plan grants all courses let the student enroll in any paid course
  without paying while the period lasts (active, or cancelled but not yet ended); those
  enrollments are recorded as grants and revoked when the subscription expires.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.errors import (
    BadRequest,
    BusinessRuleViolation,
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from app.core.events import emit
from app.core.pagination import PageParams, paginate
from app.core.permissions import Role
from app.modules.courses import service as course_service
from app.modules.courses.models import Course
from app.modules.enrollments import service as enrollment_service
from app.modules.enrollments.models import Enrollment
from app.modules.notifications.service import queue_email
from app.modules.payments import repository
from app.modules.payments.gateways import (
    Checkout,
    CheckoutRequest,
    EventKind,
    GatewayError,
    GatewayEvent,
    StatusQuery,
    get_gateway,
)
from app.modules.payments.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    PlanInterval,
    Subscription,
    SubscriptionCourseGrant,
    SubscriptionPlan,
    SubscriptionStatus,
)
from app.modules.payments.schemas import PlanCreate, PlanUpdate
from app.modules.users.models import User
from app.modules.webhooks.signing import InvalidSignature

logger = logging.getLogger("app.payments")

PAYMENT_COMPLETED = "payment.completed"
PAYMENT_REFUNDED = "payment.refunded"
SUBSCRIPTION_ACTIVATED = "subscription.activated"
SUBSCRIPTION_CANCELLED = "subscription.cancelled"
# A pending checkout younger than this is handed out again instead of opening a new one.
CHECKOUT_REUSE_WINDOW = timedelta(minutes=30)
# The `source` of events a gateway reported through its API rather than a webhook.
RECONCILIATION = "reconciliation"

# Which states an event may move a payment from; anything else is recorded and ignored.
_TRANSITIONS: dict[EventKind, tuple[PaymentStatus, ...]] = {
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


def configured_gateway() -> str:
    return get_settings().PAYMENT_GATEWAY


def _record(
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


def _event_payload(payment: Payment) -> dict[str, Any]:
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


# --- checkout --------------------------------------------------------------------------------


def _open_checkout(
    db: Session,
    *,
    user: User,
    amount: Decimal,
    currency: str,
    description: str,
    course_id: uuid.UUID | None = None,
    subscription_id: uuid.UUID | None = None,
) -> tuple[Payment, Checkout]:
    settings = get_settings()
    gateway_name = configured_gateway()
    payment_id = uuid.uuid4()
    frontend = settings.FRONTEND_URL.rstrip("/")
    request = CheckoutRequest(
        payment_id=str(payment_id),
        amount=amount,
        currency=currency,
        description=description,
        customer_email=user.email,
        customer_name=user.full_name,
        success_url=f"{frontend}/payments/{payment_id}/success",
        cancel_url=f"{frontend}/payments/{payment_id}/cancelled",
        notification_url=(
            f"{settings.PUBLIC_BASE_URL.rstrip('/')}{settings.API_V1_PREFIX}"
            f"/payments/webhooks/{gateway_name}"
        ),
    )
    try:
        checkout = get_gateway(gateway_name).create_checkout(request)
    except GatewayError as exc:
        logger.warning("checkout at %s failed: %s", gateway_name, exc)
        raise ServiceUnavailable(
            "The payment gateway is unavailable; try again shortly", code="gateway_unavailable"
        ) from exc
    payment = Payment(
        id=payment_id,
        user_id=user.id,
        course_id=course_id,
        subscription_id=subscription_id,
        amount=amount,
        currency=currency,
        gateway=gateway_name,
        status=PaymentStatus.PENDING.value,
        gateway_reference=checkout.reference,
        checkout_url=checkout.url,
        metadata_={"client_secret": checkout.client_secret} if checkout.client_secret else None,
    )
    db.add(payment)
    db.flush()
    _record(
        db,
        payment,
        gateway=gateway_name,
        event_type="payment.created",
        source="api",
        to_status=payment.status,
    )
    return payment, checkout


def checkout_view(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "gateway": payment.gateway,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "checkout_url": payment.checkout_url,
        "client_secret": (payment.metadata_ or {}).get("client_secret"),
        "course_id": payment.course_id,
        "subscription_id": payment.subscription_id,
    }


def _require_student(user: User) -> None:
    if user.role != Role.STUDENT.value:
        raise PermissionDenied("Only students can buy courses and subscriptions")


def create_course_payment(db: Session, *, user: User, course_id: uuid.UUID) -> Payment:
    """A checkout at the configured gateway for a paid course (reusing a recent open one)."""
    _require_student(user)
    course = course_service.get_visible_course(db, course_id=course_id, user=user)
    return checkout_for_course(db, student=user, course=course)


def checkout_for_course(db: Session, *, student: User, course: Course) -> Payment:
    if not course.is_published or course.archived_at is not None:
        raise BusinessRuleViolation(
            "Only published courses can be bought", code="course_not_published"
        )
    if course.is_free:
        raise BusinessRuleViolation("This course is free; enroll directly", code="course_is_free")
    if enrollment_service.get_student_enrollment(db, student_id=student.id, course_id=course.id):
        raise Conflict("You are already enrolled in this course", code="already_enrolled")
    reusable = repository.open_course_payment(
        db,
        user_id=student.id,
        course_id=course.id,
        gateway=configured_gateway(),
        since=utcnow() - CHECKOUT_REUSE_WINDOW,
    )
    if (
        reusable is not None
        and reusable.amount == course.price
        and reusable.currency == course.currency
    ):
        return reusable
    payment, _checkout = _open_checkout(
        db,
        user=student,
        amount=course.price,
        currency=course.currency,
        description=course.title,
        course_id=course.id,
    )
    return payment


def enroll_or_checkout(db: Session, *, student: User, course: Course) -> Enrollment | Payment:
    """Enrolling in a paid course: free of charge under an all-courses subscription,
    otherwise a checkout at the configured gateway (the caller answers 402 with it)."""
    subscription = repository.access_subscription(db, user_id=student.id, now=utcnow())
    if subscription is None:
        return checkout_for_course(db, student=student, course=course)
    enrollment = enrollment_service.activate_paid_enrollment(
        db, student_id=student.id, course_id=course.id
    )
    if not repository.grant_exists(db, subscription_id=subscription.id, course_id=course.id):
        db.add(
            SubscriptionCourseGrant(
                subscription_id=subscription.id, user_id=student.id, course_id=course.id
            )
        )
        db.flush()
    return enrollment


# --- subscriptions ---------------------------------------------------------------------------


def create_subscription(db: Session, *, user: User, plan_id: uuid.UUID) -> Payment:
    """A pending subscription to an active plan and the checkout for its first period."""
    _require_student(user)
    plan = db.get(SubscriptionPlan, plan_id)
    if plan is None or not plan.is_active:
        raise NotFound("Subscription plan not found", code="plan_not_found")
    now = utcnow()
    current = repository.subscription_for_plan(
        db, user_id=user.id, plan_id=plan.id, statuses=repository.ACCESS_STATUSES
    )
    if current is not None and current.current_period_end and current.current_period_end > now:
        raise Conflict(
            "You already have this subscription",
            code="already_subscribed",
            extra={"subscription_id": str(current.id)},
        )
    subscription = repository.subscription_for_plan(
        db, user_id=user.id, plan_id=plan.id, statuses=(SubscriptionStatus.PENDING.value,)
    )
    if subscription is None:
        subscription = Subscription(
            user_id=user.id,
            plan_id=plan.id,
            plan_name=plan.name,
            amount=plan.price,
            currency=plan.currency,
            gateway=configured_gateway(),
            status=SubscriptionStatus.PENDING.value,
        )
        db.add(subscription)
        db.flush()
    else:
        subscription.amount, subscription.currency = plan.price, plan.currency
        subscription.gateway = configured_gateway()
    payment, checkout = _open_checkout(
        db,
        user=user,
        amount=plan.price,
        currency=plan.currency,
        description=f"{plan.name} subscription",
        subscription_id=subscription.id,
    )
    subscription.gateway_subscription_id = checkout.reference
    db.flush()
    return payment


def list_my_subscriptions(
    db: Session, *, user: User, params: PageParams
) -> tuple[list[Subscription], int]:
    return paginate(db, repository.user_subscriptions_query(user.id), params)


def cancel_subscription(db: Session, *, subscription_id: uuid.UUID, user: User) -> Subscription:
    """Stop renewal; access continues until the end of the period already paid for."""
    subscription = repository.lock_subscription(db, subscription_id)
    if subscription is None or (subscription.user_id != user.id and user.role != Role.ADMIN.value):
        raise NotFound("Subscription not found", code="subscription_not_found")
    if subscription.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED):
        raise Conflict("The subscription has already ended or been cancelled")
    subscription.status = SubscriptionStatus.CANCELLED.value
    subscription.cancelled_at = utcnow()
    db.flush()
    emit(
        db,
        SUBSCRIPTION_CANCELLED,
        {"subscription_id": str(subscription.id), "user_id": str(subscription.user_id)},
    )
    return subscription


def _period_end(start: datetime, interval: str) -> datetime:
    # Fixed lengths keep the arithmetic simple and predictable for every start date.
    return start + (timedelta(days=365) if interval == PlanInterval.YEAR else timedelta(days=30))


def _activate_subscription(db: Session, payment: Payment) -> None:
    assert payment.subscription_id is not None
    subscription = repository.lock_subscription(db, payment.subscription_id)
    if subscription is None:
        return
    plan = db.get(SubscriptionPlan, subscription.plan_id)
    interval = plan.interval if plan else PlanInterval.MONTH.value
    now = utcnow()
    # A payment for a subscription that is still running extends it from its current end.
    start = (
        subscription.current_period_end
        if subscription.current_period_end and subscription.current_period_end > now
        else now
    )
    subscription.current_period_start = start
    subscription.current_period_end = _period_end(start, interval)
    subscription.status = SubscriptionStatus.ACTIVE.value
    subscription.cancelled_at = None
    db.flush()
    emit(
        db,
        SUBSCRIPTION_ACTIVATED,
        {
            "subscription_id": str(subscription.id),
            "user_id": str(subscription.user_id),
            "current_period_end": subscription.current_period_end.isoformat(),
        },
    )


def _revoke_subscription_grants(db: Session, subscription_ids: Sequence[uuid.UUID]) -> None:
    """End the course access the subscriptions granted, in the same few statements however
    many subscriptions there are."""
    revoked = set(
        repository.revoke_open_grants(db, subscription_ids=subscription_ids, now=utcnow())
    )
    # A course also bought on its own keeps its access.
    lost = revoked - repository.bought_pairs(db, revoked)
    enrollment_service.revoke_paid_access(db, pairs=lost)
    db.flush()


def expire_subscriptions(db: Session) -> int:
    """Mark subscriptions past their period end as expired and end what they granted."""
    expired = repository.expire_lapsed_subscriptions(db, now=utcnow())
    _revoke_subscription_grants(db, expired)
    return len(expired)


# --- gateway events --------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    # processed, duplicate, ignored; or pending: the gateway has no final answer yet
    status: str
    payment: Payment | None = None


def _grant(db: Session, payment: Payment) -> None:
    if payment.course_id is not None:
        enrollment = enrollment_service.activate_paid_enrollment(
            db, student_id=payment.user_id, course_id=payment.course_id
        )
        payment.enrollment_id = enrollment.id
    elif payment.subscription_id is not None:
        _activate_subscription(db, payment)


def _revoke(db: Session, payment: Payment) -> None:
    if payment.course_id is not None:
        enrollment_service.revoke_paid_access(db, pairs=[(payment.user_id, payment.course_id)])
    elif payment.subscription_id is not None:
        subscription = repository.lock_subscription(db, payment.subscription_id)
        if subscription is not None:
            subscription.status = SubscriptionStatus.EXPIRED.value
            subscription.current_period_end = utcnow()
            _revoke_subscription_grants(db, [subscription.id])


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
    queue_email(
        db,
        to=user.email,
        template="payment_receipt",
        context={
            "full_name": user.full_name,
            "item": item,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "payment_id": str(payment.id),
            "gateway": payment.gateway,
            "paid_at": (payment.completed_at or utcnow()).strftime("%Y-%m-%d %H:%M UTC"),
        },
        # A receipt is transactional: it is sent even to users who opted out of mailings.
        opted_out=user.email_opt_out,
        transactional=True,
    )


def _transition(
    db: Session,
    payment: Payment,
    kind: EventKind,
    *,
    transaction_id: str | None = None,
    payment_method: str | None = None,
    note: str | None = None,
) -> bool:
    """Apply `kind` to a locked payment; False when the current state does not allow it."""
    if PaymentStatus(payment.status) not in _TRANSITIONS.get(kind, ()):
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
        emit(db, PAYMENT_COMPLETED, _event_payload(payment))
        _send_receipt(db, payment)
    elif kind is EventKind.REFUNDED:
        payment.refunded_at = now
        if previous == PaymentStatus.COMPLETED:
            _revoke(db, payment)
        emit(db, PAYMENT_REFUNDED, _event_payload(payment))
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
    payment = repository.find_payment_for_event(
        db,
        gateway=gateway,
        reference=event.reference,
        transaction_id=event.transaction_id,
        payment_id=_parse_uuid(event.payment_id),
    )
    if payment is not None and event.kind is EventKind.COMPLETED:
        _check_amount(payment, event)
    try:
        # The unique (gateway, event_id) row is the idempotency guard: a concurrent delivery
        # of the same event waits on it and then fails here, changing nothing.
        with db.begin_nested():
            record = _record(
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
        record.note = "no matching payment" if payment is None else "no state change"
        db.flush()
        return WebhookOutcome("ignored", payment)
    changed = _transition(
        db,
        payment,
        event.kind,
        transaction_id=event.transaction_id if event.kind is EventKind.COMPLETED else None,
        payment_method=event.payment_method,
        note=f"{event.event_type} reported by {gateway}",
    )
    record.to_status = payment.status
    if not changed:
        record.note = f"{event.kind.value} ignored: payment is {payment.status}"
    db.flush()
    return WebhookOutcome("processed" if changed else "ignored", payment)


# --- reconciliation --------------------------------------------------------------------------


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


def reconcile(query: StatusQuery) -> WebhookOutcome:
    """Ask the gateway about one payment and apply its answer as its webhook would be, in a
    transaction of its own: none is open (nor, on SQLite, the write lock held) while the
    gateway answers."""
    try:
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
    with session_scope() as db:
        return apply_gateway_event(db, gateway=query.gateway, event=event, source=RECONCILIATION)


def reconcile_payment(*, payment_id: uuid.UUID) -> WebhookOutcome:
    """`reconcile` one open payment now (admin); the outcome carries the payment as it ends."""
    with session_scope() as db:
        payment = db.get(Payment, payment_id)
        if payment is None:
            raise NotFound("Payment not found", code="payment_not_found")
        # The states a completion may still move (a late success after a failure completes).
        if payment.status not in _TRANSITIONS[EventKind.COMPLETED]:
            raise Conflict(
                f"Only an open payment can be reconciled (this one is {payment.status})",
                code="not_reconcilable",
            )
        query = _status_query(payment)
    outcome = reconcile(query)
    with session_scope() as db:
        return WebhookOutcome(outcome.status, db.get(Payment, payment_id))


# --- refunds ---------------------------------------------------------------------------------


def refund_payment(db: Session, *, payment_id: uuid.UUID, admin: User, reason: str) -> Payment:
    """Refund a completed payment in full at its gateway and revoke what it bought."""
    payment = repository.lock_payment(db, payment_id)
    if payment is None:
        raise NotFound("Payment not found", code="payment_not_found")
    if payment.status != PaymentStatus.COMPLETED:
        raise Conflict(
            f"Only completed payments can be refunded (this one is {payment.status})",
            code="not_refundable",
        )
    try:
        refund_id = get_gateway(payment.gateway).refund(
            payment_id=str(payment.id),
            transaction_id=payment.transaction_id,
            amount=payment.amount,
            currency=payment.currency,
        )
    except GatewayError as exc:
        logger.warning("refund of %s at %s failed: %s", payment.id, payment.gateway, exc)
        raise ServiceUnavailable(
            "The payment gateway refused or could not process the refund",
            code="refund_failed",
        ) from exc
    previous = payment.status
    _transition(db, payment, EventKind.REFUNDED)
    payment.metadata_ = {**(payment.metadata_ or {}), "refund_id": refund_id}
    _record(
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


# --- reads -----------------------------------------------------------------------------------


def list_my_payments(db: Session, *, user: User, params: PageParams) -> tuple[list[Payment], int]:
    return paginate(db, repository.user_payments_query(user.id), params)


def list_payments(
    db: Session, *, status: str | None, gateway: str | None, params: PageParams
) -> tuple[list[Payment], int]:
    return paginate(db, repository.payments_query(status, gateway), params)


def get_payment(db: Session, *, payment_id: uuid.UUID, user: User) -> Payment:
    payment = db.get(Payment, payment_id)
    # Another user's payment answers 404 so ids cannot be probed.
    if payment is None or (payment.user_id != user.id and user.role != Role.ADMIN.value):
        raise NotFound("Payment not found", code="payment_not_found")
    return payment


def list_payment_events(
    db: Session, *, payment_id: uuid.UUID, params: PageParams
) -> tuple[list[PaymentEvent], int]:
    if db.get(Payment, payment_id) is None:
        raise NotFound("Payment not found", code="payment_not_found")
    return paginate(db, repository.payment_events_query(payment_id), params)


def revenue_summary(
    db: Session,
    *,
    group_by: str,
    date_from: datetime | None,
    date_to: datetime | None,
    params: PageParams,
) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    if date_from and date_to and date_from >= date_to:
        raise BusinessRuleViolation("date_from must be before date_to", code="invalid_range")
    rows, total, totals = repository.revenue_rows(
        db,
        group_by=group_by,
        date_from=date_from,
        date_to=date_to,
        limit=params.page_size,
        offset=params.offset,
    )
    for row in rows:
        row["key"] = str(row["key"]) if row["key"] is not None else None
    return rows, total, totals


# --- plans -----------------------------------------------------------------------------------


def list_plans(
    db: Session, *, include_inactive: bool, params: PageParams
) -> tuple[list[SubscriptionPlan], int]:
    return paginate(db, repository.plans_query(include_inactive=include_inactive), params)


def create_plan(db: Session, *, data: PlanCreate) -> SubscriptionPlan:
    plan = SubscriptionPlan(**data.model_dump())
    plan.interval = data.interval.value
    try:
        with db.begin_nested():
            db.add(plan)
            db.flush()
    except IntegrityError as exc:
        raise Conflict("A plan with this name exists", code="plan_name_taken") from exc
    return plan


def update_plan(db: Session, *, plan_id: uuid.UUID, data: PlanUpdate) -> SubscriptionPlan:
    plan = db.get(SubscriptionPlan, plan_id)
    if plan is None:
        raise NotFound("Subscription plan not found", code="plan_not_found")
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(plan, field, value.value if isinstance(value, PlanInterval) else value)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict("A plan with this name exists", code="plan_name_taken") from exc
    return plan
