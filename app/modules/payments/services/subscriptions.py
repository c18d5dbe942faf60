"""Subscriptions: subscribing (a pending subscription and the checkout for its first period),
cancelling, starting a paid period, and ending what lapsed or refunded subscriptions granted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.database import outside_transaction, utcnow
from app.core.errors import Conflict, NotFound
from app.core.events import emit
from app.core.pagination import PageParams, paginate
from app.core.permissions import Role
from app.modules.enrollments import service as enrollment_service
from app.modules.payments import repository
from app.modules.payments.models import (
    Payment,
    PlanInterval,
    Subscription,
    SubscriptionPlan,
    SubscriptionStatus,
)
from app.modules.payments.services.checkout import Terms, add_payment, ask_gateway, require_student
from app.modules.payments.services.ledger import (
    SUBSCRIPTION_ACTIVATED,
    SUBSCRIPTION_CANCELLED,
)
from app.modules.users.models import User


def _plan_on_offer(db: Session, *, user: User, plan_id: uuid.UUID) -> SubscriptionPlan:
    """The active plan, unless the user already has a running subscription to it."""
    plan = db.get(SubscriptionPlan, plan_id)
    if plan is None or not plan.is_active:
        raise NotFound("Subscription plan not found", code="plan_not_found")
    current = repository.subscription_for_plan(
        db, user_id=user.id, plan_id=plan.id, statuses=repository.ACCESS_STATUSES
    )
    if current is not None and current.current_period_end and current.current_period_end > utcnow():
        raise Conflict(
            "You already have this subscription",
            code="already_subscribed",
            extra={"subscription_id": str(current.id)},
        )
    return plan


def create_subscription(db: Session, *, user: User, plan_id: uuid.UUID) -> Payment:
    """A pending subscription to an active plan and the checkout for its first period (the
    gateway asked with no transaction open; nothing is written if it fails)."""
    require_student(user)
    plan = _plan_on_offer(db, user=user, plan_id=plan_id)
    terms = Terms(plan.price, plan.currency, f"{plan.name} subscription")
    with outside_transaction(db):
        opened = ask_gateway(user, terms)
    subscription = repository.subscription_for_plan(
        db, user_id=user.id, plan_id=plan_id, statuses=(SubscriptionStatus.PENDING.value,)
    )
    if subscription is None:
        subscription = Subscription(
            user_id=user.id,
            plan_id=plan_id,
            plan_name=plan.name,
            status=SubscriptionStatus.PENDING.value,
        )
        db.add(subscription)
    subscription.amount, subscription.currency = terms.amount, terms.currency
    subscription.gateway = opened.gateway
    subscription.gateway_subscription_id = opened.checkout.reference
    db.flush()
    return add_payment(db, opened, user_id=user.id, subscription_id=subscription.id)


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


def activate_subscription(db: Session, payment: Payment) -> None:
    """Start (or extend) the paid period a completed subscription payment bought."""
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


def end_subscription(db: Session, subscription_id: uuid.UUID) -> None:
    """End a refunded subscription at once, with the access it granted."""
    subscription = repository.lock_subscription(db, subscription_id)
    if subscription is not None:
        subscription.status = SubscriptionStatus.EXPIRED.value
        subscription.current_period_end = utcnow()
        _revoke_subscription_grants(db, [subscription.id])


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
