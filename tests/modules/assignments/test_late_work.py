"""Assignments: due and lock dates, late policies and per-student extensions (clock set by
the test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.assignments import service as assignments_service
from app.modules.assignments.models import Assignment, AssignmentExtension, Submission
from tests.modules.assignments.factories import make_assignment
from tests.modules.quizzes.factories import enroll, make_course

H = Callable[[Any], dict[str, str]]
API = "/api/v1/assignments"
DUE = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def _set(moment: datetime) -> None:
        monkeypatch.setattr(assignments_service, "utcnow", lambda: moment)

    return _set


def _submit(client: TestClient, assignment_id: Any, headers: dict[str, str]) -> Any:
    return client.post(f"{API}/{assignment_id}/submissions", json={"content": "x"}, headers=headers)


@pytest.fixture
def penalized(instructor: Any, student: Any) -> Any:
    """An assignment out of 50 points taking 15% per started day late, at most 40%."""
    course = make_course(instructor)
    enroll(student, course)
    return make_assignment(
        course,
        due_at=DUE,
        late_policy="penalty",
        penalty_percent_per_day=15,
        max_penalty_percent=40,
        max_points=50,
    )


def test_penalty_per_day_is_frozen_and_shown_beside_the_raw_grade(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any, penalized: Any
) -> None:
    clock(DUE + timedelta(days=1, hours=2))  # two started days late
    late = _submit(client, penalized, auth_headers(student))
    assert late.status_code == 201, late.text
    assert late.json()["is_late"] is True and late.json()["late_penalty_percent"] == "30.00"
    graded = client.post(
        f"{API}/submissions/{late.json()['id']}/grade",
        json={"grade": "40"},
        headers=auth_headers(instructor),
    )
    body = graded.json()
    assert (body["grade"], body["late_penalty_points"], body["final_grade"]) == (
        "40.00",
        "12.00",
        "28.00",
    )


@pytest.mark.parametrize(
    ("moment", "is_late", "penalty"),
    [(DUE, False, "0.00"), (DUE + timedelta(days=6), True, "40.00")],
)
def test_on_time_is_not_late_and_the_penalty_is_capped(
    client: TestClient,
    student: Any,
    auth_headers: H,
    clock: Any,
    penalized: Any,
    moment: datetime,
    is_late: bool,
    penalty: str,
) -> None:
    clock(moment)
    body = _submit(client, penalized, auth_headers(student)).json()
    assert body["is_late"] is is_late and body["late_penalty_percent"] == penalty


@pytest.mark.parametrize(
    ("policy", "lock_offset", "code"),
    [("refuse", None, "deadline_passed"), ("accept", timedelta(hours=1), "submission_locked")],
)
def test_refuse_and_lock_answer_a_problem_and_write_nothing(
    client: TestClient,
    instructor: Any,
    student: Any,
    auth_headers: H,
    clock: Any,
    policy: str,
    lock_offset: timedelta | None,
    code: str,
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    lock = DUE + lock_offset if lock_offset else None
    assignment_id = make_assignment(course, due_at=DUE, late_policy=policy, lock_at=lock)
    clock(DUE + timedelta(hours=1))
    refused = _submit(client, assignment_id, auth_headers(student))
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == code
    with session_scope() as db:
        assert db.query(Submission).count() == 0


def test_extension_moves_due_and_lock_for_that_student_only(
    client: TestClient,
    instructor: Any,
    student: Any,
    make_user: Any,
    auth_headers: H,
    clock: Any,
) -> None:
    other = make_user(role="student", email="other@example.com")
    course = make_course(instructor)
    enroll(student, course)
    enroll(other, course)
    assignment_id = make_assignment(
        course, due_at=DUE, lock_at=DUE + timedelta(hours=1), late_policy="refuse"
    )
    new_due = DUE + timedelta(days=3)
    granted = client.post(
        f"{API}/{assignment_id}/extensions",
        # Any offset is accepted; the answer is in UTC.
        json={"student_id": str(student.id), "due_at": "2026-05-07T19:00:00+02:00"},
        headers=auth_headers(instructor),
    )
    assert granted.status_code == 201, granted.text
    assert datetime.fromisoformat(granted.json()["due_at"]) == new_due
    assert granted.json()["due_at"].startswith("2026-05-07T17:00:00")
    assert granted.json()["lock_at"].startswith("2026-05-07T17:00:00")
    moved = client.post(
        f"{API}/{assignment_id}/extensions",
        json={"student_id": str(student.id), "due_at": (new_due + timedelta(days=1)).isoformat()},
        headers=auth_headers(instructor),
    )
    assert moved.status_code == 200
    with session_scope() as db:
        assert db.query(AssignmentExtension).count() == 1

    clock(DUE + timedelta(days=2))
    submitted = _submit(client, assignment_id, auth_headers(student))
    assert submitted.status_code == 201 and submitted.json()["is_late"] is False
    refused = _submit(client, assignment_id, auth_headers(other))
    assert refused.status_code == 422 and refused.json()["code"] == "submission_locked"


def test_extension_rules(
    client: TestClient,
    instructor: Any,
    student: Any,
    make_user: Any,
    auth_headers: H,
) -> None:
    stranger = make_user(role="student", email="stranger@example.com")
    other_teacher = make_user(role="instructor", email="teacher2@example.com")
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(course, due_at=DUE)
    undated = make_assignment(course)
    later = (DUE + timedelta(days=1)).isoformat()

    def grant(item: Any, who: Any, student_id: Any, due_at: str) -> Any:
        return client.post(
            f"{API}/{item}/extensions",
            json={"student_id": str(student_id), "due_at": due_at},
            headers=auth_headers(who),
        )

    assert grant(assignment_id, student, student.id, later).status_code == 403
    assert grant(assignment_id, other_teacher, student.id, later).status_code in (403, 404)
    not_enrolled = grant(assignment_id, instructor, stranger.id, later)
    assert not_enrolled.status_code == 422 and not_enrolled.json()["code"] == "student_not_enrolled"
    earlier = grant(assignment_id, instructor, student.id, (DUE - timedelta(hours=1)).isoformat())
    assert earlier.status_code == 422 and earlier.json()["code"] == "invalid_deadlines"
    assert grant(undated, instructor, student.id, later).json()["code"] == "no_due_date"
    naive = grant(assignment_id, instructor, student.id, "2026-05-09T10:00:00")
    assert naive.status_code == 422
    with session_scope() as db:
        assert db.query(AssignmentExtension).count() == 0


def test_withdrawing_an_extension(
    client: TestClient, instructor: Any, student: Any, make_user: Any, auth_headers: H
) -> None:
    other_teacher = make_user(role="instructor", email="teacher2@example.com")
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(course, due_at=DUE)
    granted = client.post(
        f"{API}/{assignment_id}/extensions",
        json={"student_id": str(student.id), "due_at": (DUE + timedelta(days=1)).isoformat()},
        headers=auth_headers(instructor),
    )
    assert granted.status_code == 201
    url = f"{API}/{assignment_id}/extensions/{student.id}"
    assert client.delete(url, headers=auth_headers(student)).status_code == 403
    assert client.delete(url, headers=auth_headers(other_teacher)).status_code in (403, 404)
    with session_scope() as db:
        assert db.query(AssignmentExtension).count() == 1
    assert client.delete(url, headers=auth_headers(instructor)).status_code == 204
    with session_scope() as db:
        assert db.query(AssignmentExtension).count() == 0
    missing = client.delete(url, headers=auth_headers(instructor))
    assert missing.status_code == 404 and missing.json()["code"] == "extension_not_found"


def test_lock_before_due_is_refused_on_create_and_update(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    headers = auth_headers(instructor)
    created = client.post(
        API,
        json={
            "course_id": str(course.id),
            "title": "Essay",
            "due_at": DUE.isoformat(),
            "lock_at": (DUE - timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert created.status_code == 422 and created.json()["code"] == "invalid_deadlines"
    assignment_id = make_assignment(course, due_at=DUE, lock_at=DUE + timedelta(days=1))
    moved = client.patch(
        f"{API}/{assignment_id}",
        json={"due_at": (DUE + timedelta(days=2)).isoformat()},
        headers=headers,
    )
    assert moved.status_code == 422
    bad_policy = client.patch(
        f"{API}/{assignment_id}", json={"late_policy": "maybe"}, headers=headers
    )
    assert bad_policy.status_code == 422
    with session_scope() as db:
        row = db.get(Assignment, assignment_id)
        assert row is not None and row.due_at == DUE and row.late_policy == "accept"
    fine = client.patch(
        f"{API}/{assignment_id}",
        json={"late_policy": "penalty", "penalty_percent_per_day": "5", "lock_at": None},
        headers=headers,
    )
    assert fine.status_code == 200 and fine.json()["lock_at"] is None
    assert fine.json()["penalty_percent_per_day"] == "5.00"


def test_an_extension_the_due_date_moved_past_no_longer_applies(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    assignment_id = make_assignment(course, due_at=DUE, late_policy="refuse")
    granted = client.post(
        f"{API}/{assignment_id}/extensions",
        json={"student_id": str(student.id), "due_at": (DUE + timedelta(days=1)).isoformat()},
        headers=auth_headers(instructor),
    )
    assert granted.status_code == 201, granted.text
    moved = client.patch(
        f"{API}/{assignment_id}",
        json={"due_at": (DUE + timedelta(days=5)).isoformat()},
        headers=auth_headers(instructor),
    )
    assert moved.status_code == 200, moved.text
    # After the extension's date, before the course's new one: still on time.
    clock(DUE + timedelta(days=3))
    submitted = _submit(client, assignment_id, auth_headers(student))
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["is_late"] is False
