"""Enrollment managed by a course's staff: bulk enrolling by id and email with a report per
row, into a cohort, without payment; the 1,000-row limit; a fixed number of queries; dropping
a student."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.core import events
from app.core.database import session_scope
from app.modules.courses.models import CohortMember
from app.modules.enrollments.models import Enrollment, EnrollmentInvitation
from app.modules.users.models import User
from tests.factories import statements
from tests.modules.courses.factories import create_course, create_enrollment
from tests.modules.courses.staff_factories import create_cast
from tests.modules.courses.test_staff_access_matrix import snapshot

API = "/api/v1"


def _status(student_id: uuid.UUID, course_id: uuid.UUID) -> str | None:
    with session_scope() as session:
        return session.scalar(
            select(Enrollment.status).where(
                Enrollment.student_id == student_id, Enrollment.course_id == course_id
            )
        )


def test_a_mixed_request_reports_every_row(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    fresh = make_user(role="student", email="fresh@example.com")
    returning = make_user(role="student", email="back@example.com")
    create_enrollment(returning, cast.course, status="dropped")
    missing = uuid.uuid4()
    rows = [
        {"student_id": str(fresh.id)},
        {"email": "BACK@example.com"},
        {"email": cast.users["student"].email},
        {"email": "nobody@example.com"},
        {"student_id": str(missing)},
        {"email": cast.users["other_instructor"].email},
        {"email": "fresh@example.com"},
        {"email": "invitee@example.com"},
    ]
    response = client.post(
        f"{API}/courses/{cast.course.id}/enrollments",
        json={"students": rows, "cohort_id": str(cast.cohort_b)},
        headers=auth_headers(cast.users["instructor"]),
    )
    assert response.status_code == 200
    report = response.json()
    assert [row["status"] for row in report["results"]] == [
        "enrolled",
        "enrolled",
        "already_enrolled",
        "unknown_email",
        "unknown_user",
        "not_a_student",
        "already_enrolled",
        "unknown_email",
    ]
    assert report["counts"] == {
        "enrolled": 2,
        "already_enrolled": 2,
        "unknown_email": 2,
        "unknown_user": 1,
        "not_a_student": 1,
        "invited": 0,
    }
    assert report["results"][1]["email"] == "back@example.com"
    assert report["results"][4]["student_id"] == str(missing)
    for person in (fresh, returning, cast.users["student"]):
        assert _status(person.id, cast.course.id) == "active"
    # Everyone enrolled by the request is in the cohort, Ann moved there from cohort A.
    with session_scope() as session:
        members = set(
            session.scalars(
                select(CohortMember.student_id).where(CohortMember.cohort_id == cast.cohort_b)
            )
        )
        assert not session.scalars(select(EnrollmentInvitation)).all()
    assert members == {cast.student_b.id, fresh.id, returning.id, cast.users["student"].id}


def test_staff_enroll_in_a_paid_draft_course_without_payment(
    client: Any, make_user: Callable[..., Any], instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, price="49.00", published=False)
    learner = make_user(role="student")
    response = client.post(
        f"{API}/courses/{course.id}/enrollments",
        json={"students": [{"student_id": str(learner.id)}]},
        headers=auth_headers(instructor),
    )
    assert response.json()["results"][0]["status"] == "enrolled"
    assert _status(learner.id, course.id) == "active"
    # A student cannot do the same for themselves.
    other = create_course(instructor, price="49.00")
    own = client.post(
        f"{API}/courses/{other.id}/enrollments",
        json={"students": [{"student_id": str(learner.id)}]},
        headers=auth_headers(learner),
    )
    assert own.status_code == 403
    assert _status(learner.id, other.id) is None


def test_bad_requests_change_nothing(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    url = f"{API}/courses/{cast.course.id}/enrollments"
    headers = auth_headers(cast.users["owner"])
    loners = [{"email": f"x{index}@example.com"} for index in range(1001)]
    other_cohort = client.post(
        f"{API}/courses/{cast.other_course.id}/cohorts",
        json={"name": "Theirs"},
        headers=auth_headers(cast.users["other_instructor"]),
    ).json()["id"]
    before = snapshot()
    for body, status in (
        ({"students": loners, "invite_unknown": True}, 422),
        ({"students": []}, 422),
        ({"students": [{"student_id": str(uuid.uuid4()), "email": "a@example.com"}]}, 422),
        ({"students": [{}]}, 422),
        ({"students": [{"email": "not an email"}]}, 422),
        ({"students": [{"email": "a@example.com"}], "invite_unknown": 1}, 422),
        ({"students": [{"email": cast.loose.email}], "cohort_id": other_cohort}, 404),
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert snapshot() == before


def test_a_thousand_rows_cost_a_fixed_number_of_queries(
    client: Any,
    make_user: Callable[..., Any],
    auth_headers: Any,
    recorded: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request's own statements: the subscribers of `enrollment.created` (recorded here,
    without a database; outgoing webhooks are left out) run after the commit, each in a task
    of its own."""
    monkeypatch.setitem(events._subscribers, events.ALL_EVENTS, [])
    cast = create_cast(make_user)
    url = f"{API}/courses/{cast.course.id}/enrollments"
    headers = auth_headers(cast.users["owner"])

    def enroll(count: int) -> tuple[int, dict[str, int]]:
        emails = [f"bulk-{uuid.uuid4().hex[:10]}@example.com" for _ in range(count)]
        with session_scope() as session:
            # Inserted together, with a placeholder hash: hashing a password per row is slow.
            session.add_all(
                User(email=email, password_hash="-", full_name=email, role="student")
                for email in emails
            )
        rows = [{"email": email} for email in emails]
        rows += [{"email": f"ghost-{uuid.uuid4().hex[:10]}@example.com"} for _ in range(count)]
        with statements() as seen:
            response = client.post(
                url,
                json={"students": rows, "cohort_id": str(cast.cohort_a), "invite_unknown": True},
                headers=headers,
            )
        assert response.status_code == 200, response.text
        return len(seen), response.json()["counts"]

    small, small_counts = enroll(2)
    large, large_counts = enroll(500)
    assert (small_counts["enrolled"], small_counts["invited"]) == (2, 2)
    assert (large_counts["enrolled"], large_counts["invited"]) == (500, 500)
    assert large == small
    assert len([name for name, _payload in recorded if name == "enrollment.created"]) == 502
    with session_scope() as session:
        assert len(session.scalars(select(EnrollmentInvitation)).all()) == 502


def test_staff_drop_a_student_and_the_history_stays(
    client: Any, make_user: Callable[..., Any], auth_headers: Any
) -> None:
    cast = create_cast(make_user)
    headers = auth_headers(cast.users["instructor"])
    url = f"{API}/courses/{cast.course.id}/enrollments/{cast.loose.id}"
    assert client.delete(url, headers=headers).status_code == 204
    assert _status(cast.loose.id, cast.course.id) == "dropped"
    # Idempotent; a student of another course, or nobody, has no enrollment here.
    assert client.delete(url, headers=headers).status_code == 204
    for student_id in (cast.users["outsider"].id, uuid.uuid4()):
        missing = client.delete(
            f"{API}/courses/{cast.course.id}/enrollments/{student_id}", headers=headers
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "enrollment_not_found")
    assert _status(cast.users["outsider"].id, cast.other_course.id) == "active"
    finished = make_user(role="student")
    create_enrollment(finished, cast.course, status="completed")
    kept = client.delete(
        f"{API}/courses/{cast.course.id}/enrollments/{finished.id}", headers=headers
    )
    assert (kept.status_code, kept.json()["code"]) == (422, "enrollment_completed")
    # Re-enrolling the dropped student reactivates the same row.
    again = client.post(
        f"{API}/courses/{cast.course.id}/enrollments",
        json={"students": [{"student_id": str(cast.loose.id)}]},
        headers=headers,
    )
    assert again.json()["results"][0]["enrollment_id"] == str(cast.enrollment_ids[cast.loose.id])
    assert _status(cast.loose.id, cast.course.id) == "active"
