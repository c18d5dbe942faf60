"""Queries of the payments module."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, exists, func, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.modules.courses.models import Course
from app.modules.payments.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    Subscription,
    SubscriptionCourseGrant,
    SubscriptionPlan,
    SubscriptionStatus,
)

# A subscription gives access while paid up: active, or cancelled with time left.
ACCESS_STATUSES = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.CANCELLED.value)


def lock_payment(db: Session, payment_id: uuid.UUID) -> Payment | None:
    return db.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def payments_named_by_event(
    db: Session,
    *,
    gateway: str,
    payment_id: uuid.UUID | None,
    reference: str | None,
    transaction_id: str | None,
) -> list[tuple[str, uuid.UUID | None]]:
    """For each identifier a gateway event carries, strongest first (our payment id, the
    checkout reference, the gateway's transaction id), the id of the payment of `gateway` it
    names, or None. Each names at most one: the id is the primary key, and references and
    transaction ids are unique per gateway. Nothing is locked."""
    lookups: list[tuple[str, ColumnElement[bool] | None]] = [
        ("payment id", Payment.id == payment_id if payment_id else None),
        ("reference", Payment.gateway_reference == reference if reference else None),
        ("transaction id", Payment.transaction_id == transaction_id if transaction_id else None),
    ]
    return [
        (name, db.scalar(select(Payment.id).where(Payment.gateway == gateway, condition)))
        for name, condition in lookups
        if condition is not None
    ]


def event_exists(db: Session, gateway: str, event_id: str) -> bool:
    return bool(
        db.scalar(
            select(
                exists().where(PaymentEvent.gateway == gateway, PaymentEvent.event_id == event_id)
            )
        )
    )


def delete_event(db: Session, *, gateway: str, event_id: str) -> None:
    db.execute(
        delete(PaymentEvent).where(
            PaymentEvent.gateway == gateway, PaymentEvent.event_id == event_id
        )
    )


def retake_stale_event(
    db: Session, *, gateway: str, event_id: str, older_than: datetime, now: datetime
) -> bool:
    """Renew the event `event_id` (a claim) if it was recorded before `older_than`; False when
    it is younger. One conditional UPDATE: of two takers, the second sees the renewed row."""
    result = db.execute(
        update(PaymentEvent)
        .where(
            PaymentEvent.gateway == gateway,
            PaymentEvent.event_id == event_id,
            PaymentEvent.created_at < older_than,
        )
        .values(created_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def claim_pending_payments(
    db: Session,
    *,
    created_after: datetime,
    created_before: datetime,
    now: datetime,
    limit: int,
) -> list[Payment]:
    """Up to `limit` pending payments created in the window, those checked longest ago first,
    marked as checked `now`, in one UPDATE. A pending payment's `updated_at` is when it was
    last checked, so each run takes the next ones and every payment in the window gets its
    turn. Two overlapping runs may both ask about one payment; applying the answer twice
    changes nothing (the event is recorded once, under the payment's row lock)."""
    due = (
        select(Payment.id)
        .where(
            Payment.status == PaymentStatus.PENDING.value,
            Payment.created_at > created_after,
            Payment.created_at <= created_before,
            Payment.gateway_reference.is_not(None),
        )
        .order_by(Payment.updated_at, Payment.id)
        .limit(limit)
    )
    return list(
        db.scalars(
            update(Payment)
            .where(Payment.id.in_(due), Payment.status == PaymentStatus.PENDING.value)
            .values(updated_at=now)
            .returning(Payment)
            .execution_options(synchronize_session=False)
        )
    )


def open_course_payment(
    db: Session, *, user_id: uuid.UUID, course_id: uuid.UUID, gateway: str, since: datetime
) -> Payment | None:
    """A recent pending checkout for the same course, reused instead of opening another."""
    return db.scalar(
        select(Payment)
        .where(
            Payment.user_id == user_id,
            Payment.course_id == course_id,
            Payment.gateway == gateway,
            Payment.status == PaymentStatus.PENDING.value,
            Payment.created_at >= since,
            Payment.checkout_url.is_not(None),
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    )


def bought_pairs(
    db: Session, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Which (user_id, course_id) of `pairs` have a completed course payment, in one query."""
    if not pairs:
        return set()
    rows = db.execute(
        select(Payment.user_id, Payment.course_id).where(
            tuple_(Payment.user_id, Payment.course_id).in_(list(pairs)),
            Payment.status == PaymentStatus.COMPLETED.value,
        )
    )
    return {(user_id, course_id) for user_id, course_id in rows if course_id is not None}


def user_payments_query(user_id: uuid.UUID) -> Select[Payment]:
    return (
        select(Payment)
        .where(Payment.user_id == user_id)
        .order_by(Payment.created_at.desc(), Payment.id)
    )


def payments_query(status: str | None, gateway: str | None) -> Select[Payment]:
    statement = select(Payment)
    if status:
        statement = statement.where(Payment.status == status)
    if gateway:
        statement = statement.where(Payment.gateway == gateway)
    return statement.order_by(Payment.created_at.desc(), Payment.id)


def payment_events_query(payment_id: uuid.UUID) -> Select[PaymentEvent]:
    return (
        select(PaymentEvent)
        .where(PaymentEvent.payment_id == payment_id)
        .order_by(PaymentEvent.created_at, PaymentEvent.id)
    )


# --- plans and subscriptions ---------------------------------------------------------------


def plans_query(*, include_inactive: bool) -> Select[SubscriptionPlan]:
    statement = select(SubscriptionPlan)
    if not include_inactive:
        statement = statement.where(SubscriptionPlan.is_active.is_(True))
    return statement.order_by(SubscriptionPlan.price, SubscriptionPlan.name)


def user_subscriptions_query(user_id: uuid.UUID) -> Select[Subscription]:
    return (
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.created_at.desc(), Subscription.id)
    )


def lock_subscription(db: Session, subscription_id: uuid.UUID) -> Subscription | None:
    return db.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def subscription_for_plan(
    db: Session, *, user_id: uuid.UUID, plan_id: uuid.UUID, statuses: Sequence[str]
) -> Subscription | None:
    return db.scalar(
        select(Subscription)
        .where(
            Subscription.user_id == user_id,
            Subscription.plan_id == plan_id,
            Subscription.status.in_(statuses),
        )
        .order_by(Subscription.created_at.desc())
        .limit(1)
    )


def access_subscription(db: Session, *, user_id: uuid.UUID, now: datetime) -> Subscription | None:
    """A subscription that currently grants every course to the user, if any."""
    return db.scalar(
        select(Subscription)
        .join(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
        .where(
            Subscription.user_id == user_id,
            Subscription.status.in_(ACCESS_STATUSES),
            Subscription.current_period_end > now,
            SubscriptionPlan.grants_all_courses.is_(True),
        )
        .order_by(Subscription.current_period_end.desc())
        .limit(1)
    )


def expire_lapsed_subscriptions(db: Session, *, now: datetime) -> list[uuid.UUID]:
    """Mark every subscription whose paid period is over as expired, in one UPDATE; their ids."""
    return list(
        db.scalars(
            update(Subscription)
            .where(
                Subscription.status.in_(ACCESS_STATUSES),
                Subscription.current_period_end <= now,
            )
            .values(status=SubscriptionStatus.EXPIRED.value)
            .returning(Subscription.id)
            .execution_options(synchronize_session="fetch")
        )
    )


def revoke_open_grants(
    db: Session, *, subscription_ids: Sequence[uuid.UUID], now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Revoke the open grants of the subscriptions in one UPDATE; the (user_id, course_id) of
    each grant revoked."""
    if not subscription_ids:
        return []
    rows = db.execute(
        update(SubscriptionCourseGrant)
        .where(
            SubscriptionCourseGrant.subscription_id.in_(subscription_ids),
            SubscriptionCourseGrant.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(SubscriptionCourseGrant.user_id, SubscriptionCourseGrant.course_id)
        .execution_options(synchronize_session="fetch")
    )
    return [(user_id, course_id) for user_id, course_id in rows]


def grant_exists(db: Session, *, subscription_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    return bool(
        db.scalar(
            select(
                exists().where(
                    SubscriptionCourseGrant.subscription_id == subscription_id,
                    SubscriptionCourseGrant.course_id == course_id,
                )
            )
        )
    )


# --- revenue ---------------------------------------------------------------------------------


def _period(db: Session, column: Any, unit: str) -> Any:
    """The UTC day (YYYY-MM-DD) or month (YYYY-MM) of `column`, as text, in SQL."""
    if db.get_bind().dialect.name == "postgresql":
        pattern = "YYYY-MM-DD" if unit == "day" else "YYYY-MM"
        return func.to_char(func.timezone("UTC", column), pattern)
    return func.strftime("%Y-%m-%d" if unit == "day" else "%Y-%m", column)


def revenue_rows(
    db: Session,
    *,
    group_by: str,
    date_from: datetime | None,
    date_to: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """Revenue grouped by `group_by` (day, month, gateway, course) and always by currency:
    amounts in different currencies are never added together."""
    counted = Payment.status.in_((PaymentStatus.COMPLETED.value, PaymentStatus.REFUNDED.value))
    filters: list[ColumnElement[bool]] = [counted, Payment.completed_at.is_not(None)]
    if date_from is not None:
        filters.append(Payment.completed_at >= date_from)
    if date_to is not None:
        filters.append(Payment.completed_at < date_to)
    label: Any = None
    if group_by in ("day", "month"):
        key: Any = _period(db, Payment.completed_at, group_by)
    elif group_by == "gateway":
        key = Payment.gateway
    elif group_by == "course":
        key, label = Payment.course_id, Course.title
    else:
        raise ValueError(f"unknown grouping {group_by}")
    refunded_amount = func.sum(
        case((Payment.status == PaymentStatus.REFUNDED.value, Payment.amount), else_=0)
    )
    measures = (
        func.count(Payment.id).label("payments"),
        func.sum(Payment.amount).label("gross"),
        refunded_amount.label("refunded"),
        func.sum(case((Payment.status == PaymentStatus.REFUNDED.value, 1), else_=0)).label(
            "refunds"
        ),
    )
    keys = [key.label("key"), Payment.currency.label("currency")]
    if label is not None:
        keys.append(label.label("label"))
    grouped = select(*keys, *measures).where(and_(*filters)).group_by(*keys)
    if label is not None:
        grouped = grouped.outerjoin(Course, Course.id == Payment.course_id)
    total = int(db.scalar(select(func.count()).select_from(grouped.subquery())) or 0)
    rows = db.execute(grouped.order_by(key, Payment.currency).limit(limit).offset(offset)).all()
    totals = db.execute(
        select(Payment.currency.label("currency"), *measures)
        .where(and_(*filters))
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    ).all()
    return [dict(row._mapping) for row in rows], total, [dict(row._mapping) for row in totals]
