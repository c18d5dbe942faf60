"""Opening payments: a checkout at the configured gateway for a paid course or a
subscription, and enrolling in a paid course (free under an all-courses subscription).

The gateway is asked for the checkout with no transaction open on the request's session
(`app.core.database.outside_transaction`): the terms are read and checked, the read ends, the
gateway is called, and the pending payment is written after, so a gateway that fails or times
out leaves nothing behind."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import outside_transaction, utcnow
from app.core.errors import BusinessRuleViolation, Conflict, PermissionDenied, ServiceUnavailable
from app.core.permissions import Role
from app.modules.courses import access as courses_access
from app.modules.courses.models import Course
from app.modules.enrollments import service as enrollment_service
from app.modules.enrollments.models import Enrollment
from app.modules.payments import repository
from app.modules.payments.gateways import Checkout, CheckoutRequest, GatewayError, get_gateway
from app.modules.payments.models import Payment, PaymentStatus, SubscriptionCourseGrant
from app.modules.payments.schemas import CheckoutRead
from app.modules.payments.services.ledger import configured_gateway, record
from app.modules.users.models import User

logger = logging.getLogger("app.payments")

# A pending checkout younger than this is handed out again instead of opening a new one.
CHECKOUT_REUSE_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Terms:
    """What a checkout charges, settled on the server before the gateway is asked."""

    amount: Decimal
    currency: str
    description: str
    course_id: uuid.UUID | None = None


@dataclass(frozen=True)
class OpenedCheckout:
    """A checkout the gateway opened, not yet recorded as a payment."""

    payment_id: uuid.UUID
    gateway: str
    checkout: Checkout
    terms: Terms


def require_student(user: User) -> None:
    if user.role != Role.STUDENT.value:
        raise PermissionDenied("Only students can buy courses and subscriptions")


def ask_gateway(user: User, terms: Terms) -> OpenedCheckout:
    """Open a checkout at the configured gateway; the caller holds no transaction."""
    settings = get_settings()
    gateway_name = configured_gateway()
    payment_id = uuid.uuid4()
    frontend = settings.FRONTEND_URL.rstrip("/")
    request = CheckoutRequest(
        payment_id=str(payment_id),
        amount=terms.amount,
        currency=terms.currency,
        description=terms.description,
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
    return OpenedCheckout(payment_id, gateway_name, checkout, terms)


def add_payment(
    db: Session, opened: OpenedCheckout, *, user_id: uuid.UUID, subscription_id: uuid.UUID | None
) -> Payment:
    """The pending payment of a checkout the gateway opened."""
    payment = Payment(
        id=opened.payment_id,
        user_id=user_id,
        course_id=opened.terms.course_id,
        subscription_id=subscription_id,
        amount=opened.terms.amount,
        currency=opened.terms.currency,
        gateway=opened.gateway,
        status=PaymentStatus.PENDING.value,
        gateway_reference=opened.checkout.reference,
        checkout_url=opened.checkout.url,
        metadata_=(
            {"client_secret": opened.checkout.client_secret}
            if opened.checkout.client_secret
            else None
        ),
    )
    db.add(payment)
    db.flush()
    record(
        db,
        payment,
        gateway=opened.gateway,
        event_type="payment.created",
        source="api",
        to_status=payment.status,
    )
    return payment


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


# --- courses ---------------------------------------------------------------------------------


def _course_offer(db: Session, *, student: User, course: Course) -> Payment | Terms:
    """A recent open checkout for the course to hand out again, or the terms of a new one."""
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
    return Terms(course.price, course.currency, course.title, course_id=course.id)


def _open_course_checkout(db: Session, student: User, terms: Terms) -> Payment:
    with outside_transaction(db):
        opened = ask_gateway(student, terms)
    return add_payment(db, opened, user_id=student.id, subscription_id=None)


def create_course_payment(db: Session, *, user: User, course_id: uuid.UUID) -> Payment:
    """A checkout at the configured gateway for a paid course (reusing a recent open one)."""
    require_student(user)
    course = courses_access.get_visible_course(db, course_id=course_id, user=user)
    offer = _course_offer(db, student=user, course=course)
    if isinstance(offer, Payment):
        return offer
    return _open_course_checkout(db, user, offer)


def enroll_or_checkout(db: Session, *, student: User, course: Course) -> Enrollment | Payment:
    """Enrolling in a paid course: free of charge under an all-courses subscription,
    otherwise a checkout at the configured gateway (the caller answers 402 with it)."""
    subscription = repository.access_subscription(db, user_id=student.id, now=utcnow())
    if subscription is None:
        offer = _course_offer(db, student=student, course=course)
        if isinstance(offer, Payment):
            return offer
        # Nothing was written: the transaction ends before the gateway is asked.
        return _open_course_checkout(db, student, offer)
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


def settle_paid_enrollment(
    db: Session, *, student: User, course: Course
) -> Enrollment | enrollment_service.PaymentRequired:
    result = enroll_or_checkout(db, student=student, course=course)
    if isinstance(result, Enrollment):
        return result
    return enrollment_service.PaymentRequired(
        course_id=course.id,
        price=result.amount,
        currency=result.currency,
        checkout=jsonable_encoder(CheckoutRead(**checkout_view(result))),
    )
