"""Subscription plans (admin): listing, creating, changing and retiring them."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import BusinessRuleViolation, Conflict, NotFound
from app.core.pagination import PageParams, paginate
from app.modules.payments import repository
from app.modules.payments.models import PlanInterval, SubscriptionPlan
from app.modules.payments.schemas import PlanCreate, PlanUpdate


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
    for field in ("name", "price", "currency", "interval", "grants_all_courses", "is_active"):
        if field in changes and changes[field] is None:
            raise BusinessRuleViolation(f"{field} cannot be null")
    for field, value in changes.items():
        setattr(plan, field, value.value if isinstance(value, PlanInterval) else value)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict("A plan with this name exists", code="plan_name_taken") from exc
    return plan
