"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.decimals import DecimalString
from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel
from app.modules.payments.models import PlanInterval


class _Base(BaseModel):
    model_config = ConfigDict(from_attributes=True)


CURRENCY_PATTERN = r"^[A-Za-z]{3}$"


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError("currency must be a 3-letter ISO 4217 code")
    return code


class PaymentIntentCreate(RequestModel):
    """Only the course: amount and currency always come from the course on the server."""

    course_id: uuid.UUID


class SubscriptionCreate(RequestModel):
    plan_id: uuid.UUID


class CheckoutRead(BaseModel):
    payment_id: uuid.UUID
    gateway: str
    status: str
    amount: Decimal
    currency: str
    checkout_url: str | None
    client_secret: str | None = None
    course_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None


class PaymentRead(_Base):
    id: uuid.UUID
    course_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    subscription_id: uuid.UUID | None
    amount: Decimal
    currency: str
    gateway: str
    status: str
    transaction_id: str | None
    payment_method: str | None
    checkout_url: str | None
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    refunded_at: datetime | None


class AdminPaymentRead(PaymentRead):
    user_id: uuid.UUID
    gateway_reference: str | None


class PaymentEventRead(_Base):
    id: uuid.UUID
    gateway: str
    event_id: str | None
    event_type: str
    source: str
    from_status: str | None
    to_status: str | None
    note: str | None
    created_at: datetime


class RefundCreate(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


class WebhookAck(BaseModel):
    received: bool = True
    status: Literal["processed", "duplicate", "ignored"]
    payment_id: uuid.UUID | None = None
    payment_status: str | None = None


class ReconcileResult(BaseModel):
    # pending: the gateway has no final answer yet
    status: Literal["processed", "duplicate", "ignored", "pending"]
    payment: AdminPaymentRead


class SandboxResult(BaseModel):
    payment_id: uuid.UUID
    webhook: WebhookAck


PlanPrice = Annotated[Decimal, DecimalString(whole_digits=8, positive=True)]


class PlanCreate(RequestModel):
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=5000)
    price: PlanPrice
    currency: str = Field(pattern=CURRENCY_PATTERN)
    interval: PlanInterval = PlanInterval.MONTH
    grants_all_courses: bool = True
    is_active: bool = True

    _normalize_currency = field_validator("currency")(_currency)


class PlanUpdate(PartialUpdate):
    nullable = frozenset({"description"})

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=5000)
    price: PlanPrice | None = None
    currency: str | None = Field(default=None, pattern=CURRENCY_PATTERN)
    interval: PlanInterval | None = None
    grants_all_courses: bool | None = None
    is_active: bool | None = None

    @field_validator("currency")
    @classmethod
    def _normalize(cls, value: str | None) -> str | None:
        return _currency(value) if value is not None else None


class PlanRead(_Base):
    id: uuid.UUID
    name: str
    description: str | None
    price: Decimal
    currency: str
    interval: str
    grants_all_courses: bool
    is_active: bool
    created_at: datetime


class SubscriptionRead(_Base):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    amount: Decimal
    currency: str
    gateway: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancelled_at: datetime | None
    created_at: datetime


class RevenueRow(BaseModel):
    key: str | None = Field(description="The day, month, gateway or course id of the group")
    label: str | None = Field(default=None, description="The course title when grouped by course")
    currency: str
    payments: int
    gross: Decimal
    refunded: Decimal
    refunds: int
    net: Decimal


class RevenueTotal(BaseModel):
    currency: str
    payments: int
    gross: Decimal
    refunded: Decimal
    refunds: int
    net: Decimal


class RevenueSummary(BaseModel):
    group_by: str
    date_from: datetime | None
    date_to: datetime | None
    totals: list[RevenueTotal]
    items: list[RevenueRow]
    total: int
    page: int
    page_size: int
    pages: int


def revenue_values(row: dict[str, Any]) -> dict[str, Any]:
    gross = Decimal(str(row["gross"] or 0))
    refunded = Decimal(str(row["refunded"] or 0))
    return {
        **row,
        "payments": int(row["payments"] or 0),
        "refunds": int(row["refunds"] or 0),
        "gross": gross,
        "refunded": refunded,
        "net": gross - refunded,
    }
