"""Enrolling in a paid course is settled by the rule the payments module hands down; without
one, the enrollment is refused with a clear problem and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.database import session_scope
from app.modules.enrollments import service
from app.modules.enrollments.models import Enrollment
from app.modules.payments.models import Payment
from tests.modules.payments.factories import create_course


def test_paid_course_without_a_payment_rule_is_refused(
    client: Any,
    student: Any,
    instructor: Any,
    auth_headers: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    course = create_course(instructor, price="20.00")
    monkeypatch.setattr(service, "_paid_enrollments", [])
    response = client.post(
        "/api/v1/enrollments", json={"course_id": str(course.id)}, headers=auth_headers(student)
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "payments_unavailable"
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(Enrollment)) == 0
        assert db.scalar(select(func.count()).select_from(Payment)) == 0


def test_the_payments_rule_answers_a_paid_enrollment_with_its_checkout(
    client: Any, student: Any, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, price="20.00")
    response = client.post(
        "/api/v1/enrollments", json={"course_id": str(course.id)}, headers=auth_headers(student)
    )
    assert response.status_code == 402, response.text
    body = response.json()
    assert body["code"] == "payment_required" and body["price"] == "20.00"
    assert body["checkout"]["course_id"] == str(course.id)
    assert body["checkout"]["status"] == "pending"
