"""The `subscription_plans`, `subscriptions`, `payments` and `payment_events` tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow


class PaymentStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class SubscriptionStatus(StrEnum):
    # Created, waiting for its first payment.
    PENDING = "pending"
    ACTIVE = "active"
    # Cancelled by the student: access continues until the end of the paid period.
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PAST_DUE = "past_due"


class PlanInterval(StrEnum):
    MONTH = "month"
    YEAR = "year"


class SubscriptionPlan(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "subscription_plans"
    __table_args__ = (CheckConstraint("price > 0", name="price_positive"),)

    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(10), default=PlanInterval.MONTH.value)
    # What the plan grants: enrollment in every paid course while the subscription lasts.
    grants_all_courses: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Subscription(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_user_status", "user_id", "status"),
        Index("ix_subscriptions_status_period_end", "status", "current_period_end"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscription_plans.id", ondelete="RESTRICT")
    )
    # Copied from the plan at purchase, so later price changes do not rewrite history.
    plan_name: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.PENDING.value)
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    gateway_subscription_id: Mapped[str | None] = mapped_column(String(255))


class Payment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "payments"
    __table_args__ = (
        # The gateway's checkout/order id and its transaction id each identify one payment.
        UniqueConstraint("gateway", "gateway_reference", name="uq_payments_gateway_reference"),
        UniqueConstraint("gateway", "transaction_id", name="uq_payments_gateway_transaction"),
        Index("ix_payments_user_created_at", "user_id", "created_at"),
        Index("ix_payments_status_completed_at", "status", "completed_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING.value)
    # The gateway's id of the checkout (Stripe session, MyFatoorah invoice, Paymob order).
    gateway_reference: Mapped[str | None] = mapped_column(String(255))
    # The gateway's id of the money movement (payment intent, payment id, transaction id).
    transaction_id: Mapped[str | None] = mapped_column(String(255))
    payment_method: Mapped[str | None] = mapped_column(String(100))
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # `metadata` is reserved on declarative classes, hence the attribute name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    completed_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]


class PaymentEvent(UUIDPrimaryKey, Base):
    """Audit trail: every state change of a payment, and every gateway event received.

    `event_id` is the gateway's event id; unique per gateway, so a replayed webhook is
    recognised (and two concurrent deliveries of it cannot both be applied).
    """

    __tablename__ = "payment_events"
    __table_args__ = (
        UniqueConstraint("gateway", "event_id", name="uq_payment_events_gateway_event_id"),
        Index("ix_payment_events_payment_created_at", "payment_id", "created_at"),
    )

    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE")
    )
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str | None] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    # webhook, reconciliation (the gateway's API answered a status query), api, admin, system
    source: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionCourseGrant(UUIDPrimaryKey, Base):
    """A course the student enrolled in through a subscription: access to it ends with the
    subscription (expiry or refund) unless the course was also bought on its own."""

    __tablename__ = "subscription_course_grants"
    __table_args__ = (
        UniqueConstraint("subscription_id", "course_id", name="uq_subscription_grants_course"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
