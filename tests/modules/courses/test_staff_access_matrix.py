"""Every staff, cohort and managed-enrollment route against every kind of caller: the owner,
a co-instructor, teaching assistants in and out of the cohort concerned, a student of the
course, a student of another course, another instructor, an admin and an anonymous caller.
A refused call answers 401/403, leaks nothing of the course's people and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.core.database import session_scope
from app.modules.courses.models import Cohort, CohortMember, CohortStaff, CourseStaff
from app.modules.enrollments.models import Enrollment, EnrollmentInvitation
from app.modules.users.models import User
from tests.modules.courses.factories import create_enrollment
from tests.modules.courses.staff_factories import ACTORS, Cast, add_cohort, add_staff, create_cast

API = "/api/v1"

STAFF = {"owner", "instructor", "ta_in", "ta_out", "admin"}
MANAGERS = {"owner", "instructor", "admin"}
OWNERS = {"owner", "admin"}
GRADERS_OF_A = {"owner", "instructor", "ta_in", "admin"}


def snapshot() -> dict[str, Any]:
    """Every row the routes under test could write."""
    with session_scope() as session:
        return {
            "staff": sorted(
                (str(r.course_id), str(r.user_id), r.role)
                for r in session.scalars(select(CourseStaff))
            ),
            "cohort_staff": sorted(
                (str(r.cohort_id), str(r.user_id)) for r in session.scalars(select(CohortStaff))
            ),
            "cohorts": sorted(
                (str(r.id), r.name, str(r.starts_at)) for r in session.scalars(select(Cohort))
            ),
            "members": sorted(
                (str(r.cohort_id), str(r.student_id)) for r in session.scalars(select(CohortMember))
            ),
            "enrollments": sorted(
                (str(r.student_id), str(r.course_id), r.status)
                for r in session.scalars(select(Enrollment))
            ),
            "invitations": len(list(session.scalars(select(EnrollmentInvitation)))),
            "users": len(list(session.scalars(select(User)))),
        }


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    # Builds the path (arranging a fresh target when the call destroys one) and the body.
    request: Callable[[Cast, Callable[..., Any]], tuple[str, dict[str, Any] | None]]
    allowed: set[str]
    status: int


def _course(cast: Cast) -> str:
    return f"{API}/courses/{cast.course.id}"


def _fresh_staff(cast: Cast, make_user: Callable[..., Any]) -> str:
    member = make_user(role="instructor", email=f"fresh-{uuid.uuid4().hex[:8]}@example.com")
    add_staff(cast.course.id, member, "teaching_assistant")
    return f"{_course(cast)}/staff/{member.id}"


def _fresh_cohort(cast: Cast, _make_user: Callable[..., Any]) -> str:
    return f"{_course(cast)}/cohorts/{add_cohort(cast.course.id, 'Spare')}"


def _fresh_student(cast: Cast, make_user: Callable[..., Any]) -> str:
    person = make_user(role="student", email=f"st-{uuid.uuid4().hex[:8]}@example.com")
    create_enrollment(person, cast.course)
    return f"{_course(cast)}/enrollments/{person.id}"


CASES = [
    Case("list staff", "GET", lambda c, m: (f"{_course(c)}/staff", None), STAFF, 200),
    Case(
        "get staff member",
        "GET",
        lambda c, m: (f"{_course(c)}/staff/{c.users['ta_in'].id}", None),
        OWNERS,
        200,
    ),
    Case(
        "put staff member",
        "PUT",
        lambda c, m: (
            f"{_course(c)}/staff/{c.users['other_instructor'].id}",
            {"role": "teaching_assistant", "cohort_ids": [str(c.cohort_b)]},
        ),
        OWNERS,
        200,
    ),
    Case("remove staff member", "DELETE", lambda c, m: (_fresh_staff(c, m), None), OWNERS, 204),
    Case("list cohorts", "GET", lambda c, m: (f"{_course(c)}/cohorts", None), STAFF, 200),
    Case(
        "create cohort",
        "POST",
        lambda c, m: (f"{_course(c)}/cohorts", {"name": "Evening"}),
        MANAGERS,
        201,
    ),
    Case(
        "get cohort",
        "GET",
        lambda c, m: (f"{_course(c)}/cohorts/{c.cohort_a}", None),
        STAFF,
        200,
    ),
    Case(
        "rename cohort",
        "PATCH",
        lambda c, m: (f"{_course(c)}/cohorts/{c.cohort_a}", {"name": "Renamed"}),
        MANAGERS,
        200,
    ),
    Case("delete cohort", "DELETE", lambda c, m: (_fresh_cohort(c, m), None), MANAGERS, 204),
    Case(
        "list cohort members",
        "GET",
        lambda c, m: (f"{_course(c)}/cohorts/{c.cohort_a}/members", None),
        GRADERS_OF_A,
        200,
    ),
    Case(
        "set cohort members",
        "PUT",
        lambda c, m: (
            f"{_course(c)}/cohorts/{c.cohort_a}/members",
            {"student_ids": [str(c.users["student"].id), str(c.loose.id)]},
        ),
        MANAGERS,
        200,
    ),
    Case(
        "enroll students",
        "POST",
        lambda c, m: (
            f"{_course(c)}/enrollments",
            {
                "students": [{"email": c.users["outsider"].email}, {"email": "new@example.com"}],
                "invite_unknown": True,
            },
        ),
        MANAGERS,
        200,
    ),
    Case("drop a student", "DELETE", lambda c, m: (_fresh_student(c, m), None), MANAGERS, 204),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_access_matrix(
    client: Any, make_user: Callable[..., Any], auth_headers: Any, case: Case
) -> None:
    cast = create_cast(make_user)
    # Refused callers first, on an unchanged course; then every allowed caller.
    refused = [actor for actor in ACTORS if actor not in case.allowed]
    for actor in refused + sorted(case.allowed):
        path, body = case.request(cast, make_user)
        before = snapshot()
        response = client.request(
            case.method, path, json=body, headers=cast.headers(actor, auth_headers)
        )
        if actor in case.allowed:
            assert response.status_code == case.status, (actor, response.text)
            continue
        assert response.status_code == (401 if actor == "anonymous" else 403), (
            actor,
            response.text,
        )
        assert response.headers["content-type"].startswith("application/problem+json")
        for secret in (cast.student_b.email, cast.loose.email, str(cast.cohort_b)):
            assert secret not in response.text, (actor, secret)
        assert snapshot() == before, actor


def test_the_routes_of_a_course_that_does_not_exist_answer_404(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    admin = make_user(role="admin")
    missing = uuid.uuid4()
    for method, path in (
        ("GET", f"{API}/courses/{missing}/staff"),
        ("GET", f"{API}/courses/{missing}/cohorts"),
        ("POST", f"{API}/courses/{missing}/cohorts"),
    ):
        body = {"name": "x"} if method == "POST" else None
        response = client.request(method, path, json=body, headers=auth_headers(admin))
        assert response.status_code == 404, path
        assert response.json()["code"] == "course_not_found"
