"""Plans, subscriptions, subscription access to paid courses, cancellation and expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from app.core.database import session_scope, utcnow
from app.modules.courses.models import Course
from app.modules.payments.models import Subscription, SubscriptionCourseGrant
from app.modules.payments.services import subscriptions
from app.modules.payments.services.checkout import enroll_or_checkout
from app.modules.users.models import User
from tests.factories import statements
from tests.modules.payments.factories import (
    create_course,
    create_payment,
    create_plan,
    create_subscription,
)
from tests.modules.payments.helpers import count_enrollments

PLANS = "/api/v1/payments/plans"


def test_plans_are_managed_by_admins(
    client: Any, admin: Any, student: Any, auth_headers: Any
) -> None:
    body = {"name": "All access", "price": "19.99", "currency": "usd", "interval": "month"}
    assert client.post(PLANS, json=body, headers=auth_headers(student)).status_code == 403
    created = client.post(PLANS, json=body, headers=auth_headers(admin))
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["currency"] == "USD" and plan["grants_all_courses"] is True
    assert client.post(PLANS, json=body, headers=auth_headers(admin)).status_code == 409
    assert (
        client.post(
            PLANS, json={**body, "name": "Free", "price": "0"}, headers=auth_headers(admin)
        ).status_code
        == 422
    )
    assert (
        client.post(
            PLANS, json={**body, "name": "Bad", "currency": "US1"}, headers=auth_headers(admin)
        ).status_code
        == 422
    )
    retired = client.patch(
        f"{PLANS}/{plan['id']}", json={"is_active": False}, headers=auth_headers(admin)
    )
    assert retired.json()["is_active"] is False
    assert (
        client.patch(
            f"{PLANS}/{plan['id']}", json={"price": "1"}, headers=auth_headers(student)
        ).status_code
        == 403
    )
    assert client.get(PLANS).json()["total"] == 0
    # Retired plans stay hidden from anyone but an administrator, whatever they ask for.
    for headers in ({}, auth_headers(student)):
        hidden = client.get(PLANS, params={"include_inactive": True}, headers=headers)
        assert hidden.status_code == 200 and hidden.json()["total"] == 0
    assert (
        client.get(PLANS, params={"include_inactive": True}, headers=auth_headers(admin)).json()[
            "total"
        ]
        == 1
    )


def _subscribe(client: Any, student: Any, plan: Any, auth_headers: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/payments/create-subscription",
        json={"plan_id": str(plan.id)},
        headers=auth_headers(student),
    )
    assert response.status_code == 201, response.text
    checkout = dict(response.json())
    url = urlsplit(checkout["checkout_url"])
    token = parse_qs(url.query)["token"][0]
    paid = client.post(f"{url.path}/succeed", params={"token": token})
    assert paid.json()["webhook"]["status"] == "processed", paid.text
    return checkout


def test_subscription_grants_paid_courses_until_it_ends(
    client: Any, student: Any, instructor: Any, auth_headers: Any
) -> None:
    plan = create_plan(price="19.00", interval="month")
    course = create_course(instructor, price="99.00")
    checkout = _subscribe(client, student, plan, auth_headers)
    mine = client.get("/api/v1/payments/my-subscriptions", headers=auth_headers(student)).json()
    assert mine["total"] == 1
    subscription = mine["items"][0]
    assert subscription["status"] == "active" and subscription["id"] == checkout["subscription_id"]
    # Subscribing twice is refused while the first one runs.
    again = client.post(
        "/api/v1/payments/create-subscription",
        json={"plan_id": str(plan.id)},
        headers=auth_headers(student),
    )
    assert again.status_code == 409

    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        result = enroll_or_checkout(db, student=user, course=db.get(Course, course.id))
    assert result.__class__.__name__ == "Enrollment"
    assert count_enrollments(student.id, course.id) == 1

    # Cancelled: access lasts until the period ends.
    cancelled = client.post(
        f"/api/v1/payments/subscriptions/{subscription['id']}/cancel", headers=auth_headers(student)
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    with session_scope() as db:
        assert subscriptions.expire_subscriptions(db) == 0
    assert count_enrollments(student.id, course.id) == 1

    # Period over: the job expires it and the courses it granted lose access.
    with session_scope() as db:
        db.query(Subscription).filter(Subscription.user_id == student.id).update(
            {Subscription.current_period_end: utcnow() - timedelta(minutes=1)}
        )
    with session_scope() as db:
        assert subscriptions.expire_subscriptions(db) == 1
    assert count_enrollments(student.id, course.id) == 0
    after = client.get("/api/v1/payments/my-subscriptions", headers=auth_headers(student)).json()
    assert after["items"][0]["status"] == "expired"


def test_without_subscription_a_paid_course_needs_a_checkout(student: Any, instructor: Any) -> None:
    course = create_course(instructor, price="10.00")
    plan = create_plan(grants_all_courses=False)
    create_subscription(student, plan)
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        result = enroll_or_checkout(db, student=user, course=db.get(Course, course.id))
        assert result.__class__.__name__ == "Payment"
        assert result.status == "pending"
    assert count_enrollments(student.id, course.id) == 0


def test_course_bought_separately_survives_subscription_expiry(
    client: Any, student: Any, instructor: Any, auth_headers: Any
) -> None:
    plan = create_plan()
    course = create_course(instructor)
    subscription = create_subscription(student, plan)
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        enroll_or_checkout(db, student=user, course=db.get(Course, course.id))
    create_payment(student, course=course, completed_at=utcnow())
    with session_scope() as db:
        db.query(Subscription).filter(Subscription.id == subscription.id).update(
            {Subscription.current_period_end: utcnow() - timedelta(seconds=1)}
        )
    with session_scope() as db:
        subscriptions.expire_subscriptions(db)
    assert count_enrollments(student.id, course.id) == 1


def _lapse_with_grants(student: Any, instructor: Any) -> tuple[Any, Any, Any]:
    """A subscription, just lapsed, that granted the student two paid courses: one also bought
    on its own, one not. Returns the subscription, the bought course and the granted one."""
    subscription = create_subscription(student, create_plan())
    bought, granted = create_course(instructor), create_course(instructor)
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        for course in (bought, granted):
            enroll_or_checkout(db, student=user, course=db.get(Course, course.id))
    create_payment(student, course=bought, completed_at=utcnow())
    with session_scope() as db:
        db.query(Subscription).filter(Subscription.id == subscription.id).update(
            {Subscription.current_period_end: utcnow() - timedelta(seconds=1)}
        )
    return subscription, bought, granted


def test_expiry_statements_do_not_grow_with_the_lapsed_subscriptions(
    make_user: Callable[..., Any], instructor: Any
) -> None:
    def expire(count: int) -> tuple[list[str], list[tuple[Any, Any, Any, Any]]]:
        lapsed = []
        for _ in range(count):
            student = make_user(role="student")
            lapsed.append((student, *_lapse_with_grants(student, instructor)))
        with statements() as seen, session_scope() as db:
            assert subscriptions.expire_subscriptions(db) == count
        return seen, lapsed

    one, _ = expire(1)
    four, lapsed = expire(4)

    # The same few statements for one lapsed subscription or four, enrollments included.
    assert len(four) == len(one), four
    ids = [subscription.id for _student, subscription, _bought, _granted in lapsed]
    with session_scope() as db:
        statuses = db.scalars(select(Subscription.status).where(Subscription.id.in_(ids))).all()
        open_grants = db.scalar(
            select(func.count())
            .select_from(SubscriptionCourseGrant)
            .where(
                SubscriptionCourseGrant.subscription_id.in_(ids),
                SubscriptionCourseGrant.revoked_at.is_(None),
            )
        )
    assert statuses == ["expired"] * 4 and open_grants == 0
    for student, _subscription, bought, granted in lapsed:
        assert count_enrollments(student.id, bought.id) == 1
        assert count_enrollments(student.id, granted.id) == 0


def test_cancel_is_limited_to_the_owner(
    client: Any, student: Any, other_student: Any, auth_headers: Any
) -> None:
    subscription = create_subscription(student, create_plan())
    url = f"/api/v1/payments/subscriptions/{subscription.id}/cancel"
    assert client.post(url, headers=auth_headers(other_student)).status_code == 404
    assert client.post(url, headers=auth_headers(student)).status_code == 200
    assert client.post(url, headers=auth_headers(student)).status_code == 409


def test_inactive_or_unknown_plan_cannot_be_bought(
    client: Any, student: Any, auth_headers: Any
) -> None:
    plan = create_plan(is_active=False)
    response = client.post(
        "/api/v1/payments/create-subscription",
        json={"plan_id": str(plan.id)},
        headers=auth_headers(student),
    )
    assert response.status_code == 404


def test_only_students_can_subscribe(
    client: Any, instructor: Any, admin: Any, auth_headers: Any
) -> None:
    plan = create_plan()
    for user in (instructor, admin):
        response = client.post(
            "/api/v1/payments/create-subscription",
            json={"plan_id": str(plan.id)},
            headers=auth_headers(user),
        )
        assert response.status_code == 403, (user.role, response.text)
    anonymous = client.post("/api/v1/payments/create-subscription", json={"plan_id": str(plan.id)})
    assert anonymous.status_code == 401
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(Subscription)) == 0


def test_refunded_subscription_ends_at_once(
    client: Any, student: Any, admin: Any, instructor: Any, auth_headers: Any
) -> None:
    plan = create_plan()
    course = create_course(instructor)
    checkout = _subscribe(client, student, plan, auth_headers)
    with session_scope() as db:
        user = db.get(User, student.id)
        assert user is not None
        enroll_or_checkout(db, student=user, course=db.get(Course, course.id))
    response = client.post(
        f"/api/v1/payments/{checkout['payment_id']}/refund",
        json={"reason": "r"},
        headers=auth_headers(admin),
    )
    assert response.status_code == 200
    mine = client.get("/api/v1/payments/my-subscriptions", headers=auth_headers(student)).json()
    assert mine["items"][0]["status"] == "expired"
    assert count_enrollments(student.id, course.id) == 0


def test_enrollment_route_uses_the_subscription_or_answers_with_a_checkout(
    client: Any, student: Any, other_student: Any, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, price="25.00")
    create_subscription(student, create_plan())
    covered = client.post(
        "/api/v1/enrollments", json={"course_id": str(course.id)}, headers=auth_headers(student)
    )
    assert covered.status_code == 201, covered.text
    assert count_enrollments(student.id, course.id) == 1

    unpaid = client.post(
        "/api/v1/enrollments",
        json={"course_id": str(course.id)},
        headers=auth_headers(other_student),
    )
    assert unpaid.status_code == 402
    assert unpaid.json()["checkout"]["amount"] == "25.00"
    assert count_enrollments(other_student.id, course.id) == 0
