"""Reading payments: a user's own, every payment (admin), a payment's audit trail, revenue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import BusinessRuleViolation, NotFound
from app.core.pagination import PageParams, paginate
from app.core.permissions import Role
from app.modules.payments import repository
from app.modules.payments.models import Payment, PaymentEvent
from app.modules.users.models import User


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
