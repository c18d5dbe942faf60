"""Payments API: `/api/v1/payments/...`.

Gateway webhooks are answered 200 once verified and applied (also for duplicates, so the
gateway stops retrying), 400 for a bad signature, 409 when the event's identifiers name
different payments and 422 for an amount mismatch.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request, status
from fastapi.responses import HTMLResponse

from app.core.config import get_settings
from app.core.database import finish_request_transaction
from app.core.dependencies import DbSession
from app.core.errors import NotFound, PayloadTooLarge, ServiceUnavailable, problem
from app.core.pagination import Page, Pagination
from app.core.permissions import Role
from app.core.routing import APIRouter
from app.modules.payments import sandbox
from app.modules.payments.models import PaymentStatus
from app.modules.payments.schemas import (
    AdminPaymentRead,
    CheckoutRead,
    PaymentEventRead,
    PaymentIntentCreate,
    PaymentRead,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    ReconcileResult,
    RefundCreate,
    RevenueRow,
    RevenueSummary,
    RevenueTotal,
    SandboxResult,
    SubscriptionCreate,
    SubscriptionRead,
    WebhookAck,
    revenue_values,
)
from app.modules.payments.services import (
    checkout,
    events,
    plans,
    reads,
    reconciliation,
    refunds,
    subscriptions,
)
from app.modules.payments.services.ledger import WebhookOutcome
from app.modules.users.dependencies import AdminUser, CurrentUser, OptionalUser

router = APIRouter(prefix="/payments", tags=["payments"])

_GATEWAY_UNAVAILABLE = problem(503, "The payment gateway could not be reached or refused")

MAX_WEBHOOK_BYTES = 1024 * 1024
GatewayName = Literal["stripe", "myfatoorah", "paymob", "sandbox"]


async def _raw_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("Webhook bodies are limited to 1 MiB")
    return body


def _ack(outcome: WebhookOutcome) -> WebhookAck:
    payment = outcome.payment
    return WebhookAck(
        status=outcome.status,
        payment_id=payment.id if payment else None,
        payment_status=payment.status if payment else None,
    )


@router.post(
    "/create-payment-intent",
    response_model=CheckoutRead,
    status_code=status.HTTP_201_CREATED,
    responses=_GATEWAY_UNAVAILABLE,
)
def create_payment_intent(data: PaymentIntentCreate, db: DbSession, user: CurrentUser) -> Any:
    """Open a checkout for a paid course at the configured gateway (price from the course)."""
    payment = checkout.create_course_payment(db, user=user, course_id=data.course_id)
    return checkout.checkout_view(payment)


@router.post(
    "/create-subscription",
    response_model=CheckoutRead,
    status_code=status.HTTP_201_CREATED,
    responses=_GATEWAY_UNAVAILABLE,
)
def create_subscription(data: SubscriptionCreate, db: DbSession, user: CurrentUser) -> Any:
    """Subscribe to a plan: a pending subscription and the checkout for its first period."""
    payment = subscriptions.create_subscription(db, user=user, plan_id=data.plan_id)
    return checkout.checkout_view(payment)


@router.get("/my-payments", response_model=Page[PaymentRead])
def my_payments(db: DbSession, user: CurrentUser, params: Pagination) -> Any:
    """Your payments, newest first."""
    items, total = reads.list_my_payments(db, user=user, params=params)
    return Page[PaymentRead].build([PaymentRead.model_validate(p) for p in items], total, params)


@router.get("/my-subscriptions", response_model=Page[SubscriptionRead])
def my_subscriptions(db: DbSession, user: CurrentUser, params: Pagination) -> Any:
    """Your subscriptions, newest first."""
    items, total = subscriptions.list_my_subscriptions(db, user=user, params=params)
    return Page[SubscriptionRead].build(
        [SubscriptionRead.model_validate(s) for s in items], total, params
    )


@router.post("/subscriptions/{subscription_id}/cancel", response_model=SubscriptionRead)
def cancel_subscription(subscription_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Any:
    """Cancel your subscription; access lasts until the end of the paid period."""
    return subscriptions.cancel_subscription(db, subscription_id=subscription_id, user=user)


@router.get("/revenue/summary", response_model=RevenueSummary)
def revenue_summary(
    db: DbSession,
    _admin: AdminUser,
    params: Pagination,
    group_by: Literal["day", "month", "gateway", "course"] = "month",
    date_from: Annotated[datetime | None, Query(description="Inclusive, ISO 8601")] = None,
    date_to: Annotated[datetime | None, Query(description="Exclusive, ISO 8601")] = None,
) -> Any:
    """Revenue of completed payments grouped by day, month, gateway or course, per currency."""
    rows, total, totals = reads.revenue_summary(
        db, group_by=group_by, date_from=date_from, date_to=date_to, params=params
    )
    page = Page[RevenueRow].build([RevenueRow(**revenue_values(r)) for r in rows], total, params)
    return RevenueSummary(
        group_by=group_by,
        date_from=date_from,
        date_to=date_to,
        totals=[RevenueTotal(**revenue_values(t)) for t in totals],
        **page.model_dump(),
    )


@router.post(
    "/webhooks/{gateway}",
    response_model=WebhookAck,
    responses=problem(400, "The signature is missing or invalid, or the event is malformed")
    | problem(409, "The event's identifiers name different payments")
    | problem(413, "The body is larger than 1 MiB"),
)
def gateway_webhook(
    gateway: GatewayName,
    request: Request,
    db: DbSession,
    body: Annotated[bytes, Depends(_raw_body)],
) -> WebhookAck:
    """Receive a gateway's signed payment webhook (verified, idempotent)."""
    if gateway == "sandbox" and get_settings().is_production:
        raise NotFound("The sandbox gateway is not available in production")
    outcome = events.handle_webhook(
        db,
        gateway=gateway,
        body=body,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=dict(request.query_params),
    )
    return _ack(outcome)


@router.get("/sandbox/checkout/{payment_id}", response_class=HTMLResponse)
def sandbox_checkout_page(
    payment_id: uuid.UUID, token: Annotated[str, Query(max_length=128)], db: DbSession
) -> HTMLResponse:
    """The sandbox gateway's checkout page (development only)."""
    return HTMLResponse(sandbox.checkout_page(db, payment_id=payment_id, token=token))


@router.post("/sandbox/checkout/{payment_id}/{outcome}", response_model=SandboxResult)
def sandbox_checkout_action(
    payment_id: uuid.UUID,
    outcome: Literal["succeed", "fail", "cancel"],
    token: Annotated[str, Query(max_length=128)],
    db: DbSession,
) -> SandboxResult:
    """Pay, fail or cancel a sandbox checkout by sending its signed webhook (development only)."""
    result = sandbox.complete_checkout(db, payment_id=payment_id, token=token, outcome=outcome)
    return SandboxResult(payment_id=payment_id, webhook=_ack(result))


@router.get("/plans", response_model=Page[PlanRead])
def list_plans(
    db: DbSession,
    user: OptionalUser,
    params: Pagination,
    include_inactive: bool = False,
) -> Any:
    """Subscription plans on sale (admins may include retired ones)."""
    show_all = include_inactive and user is not None and user.role == Role.ADMIN.value
    items, total = plans.list_plans(db, include_inactive=show_all, params=params)
    return Page[PlanRead].build([PlanRead.model_validate(p) for p in items], total, params)


@router.post("/plans", response_model=PlanRead, status_code=status.HTTP_201_CREATED)
def create_plan(data: PlanCreate, db: DbSession, _admin: AdminUser) -> Any:
    """Create a subscription plan."""
    return plans.create_plan(db, data=data)


@router.patch("/plans/{plan_id}", response_model=PlanRead)
def update_plan(plan_id: uuid.UUID, data: PlanUpdate, db: DbSession, _admin: AdminUser) -> Any:
    """Change a plan (price changes apply to new subscriptions only); retire with is_active."""
    return plans.update_plan(db, plan_id=plan_id, data=data)


@router.get("", response_model=Page[AdminPaymentRead])
def list_payments(
    db: DbSession,
    _admin: AdminUser,
    params: Pagination,
    payment_status: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    gateway: GatewayName | None = None,
) -> Any:
    """Every payment (admin), newest first, filtered by status and gateway."""
    items, total = reads.list_payments(
        db,
        status=payment_status.value if payment_status else None,
        gateway=gateway,
        params=params,
    )
    return Page[AdminPaymentRead].build(
        [AdminPaymentRead.model_validate(p) for p in items], total, params
    )


@router.get("/{payment_id}", response_model=PaymentRead)
def get_payment(payment_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Any:
    """One of your payments (admins: any payment)."""
    return reads.get_payment(db, payment_id=payment_id, user=user)


@router.get("/{payment_id}/events", response_model=Page[PaymentEventRead])
def payment_events(
    payment_id: uuid.UUID, db: DbSession, _admin: AdminUser, params: Pagination
) -> Any:
    """The audit trail of a payment: every gateway event and state change (admin)."""
    items, total = reads.list_payment_events(db, payment_id=payment_id, params=params)
    return Page[PaymentEventRead].build(
        [PaymentEventRead.model_validate(e) for e in items], total, params
    )


@router.post(
    "/{payment_id}/refund",
    response_model=AdminPaymentRead,
    responses={
        **_GATEWAY_UNAVAILABLE,
        **problem(409, "A refund of this payment is already in progress or done"),
    },
)
def refund_payment(
    payment_id: uuid.UUID, data: RefundCreate, db: DbSession, admin: AdminUser
) -> Any:
    """Refund a completed payment in full at its gateway and revoke the access it bought."""
    claim = refunds.claim_refund(db, payment_id=payment_id, admin=admin, reason=data.reason)
    # The claim is committed before the gateway is asked, so a concurrent refund sees it.
    finish_request_transaction(db)
    try:
        return refunds.refund_claimed(
            db, claim, payment_id=payment_id, admin=admin, reason=data.reason
        )
    except ServiceUnavailable:
        # The refusal released the claim; the release is committed with it.
        finish_request_transaction(db)
        raise


@router.post(
    "/{payment_id}/reconcile",
    response_model=ReconcileResult,
    responses=_GATEWAY_UNAVAILABLE
    | problem(409, "The gateway's answer names another payment's transaction"),
)
def reconcile_payment(payment_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> Any:
    """Ask the gateway where an open payment stands and apply it as its webhook would (admin)."""
    outcome = reconciliation.reconcile_payment(db, payment_id=payment_id)
    return ReconcileResult(
        status=outcome.status, payment=AdminPaymentRead.model_validate(outcome.payment)
    )
