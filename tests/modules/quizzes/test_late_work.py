"""Quizzes: due and lock dates, late penalties on attempts and per-student extensions (clock
set by the test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.quizzes import attempts, finishing
from app.modules.quizzes.models import QuizAttempt
from tests.modules.quizzes.factories import (
    ALL_RIGHT,
    answers_payload,
    enroll,
    make_course,
    make_quiz,
)

H = Callable[[Any], dict[str, str]]
DUE = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def _set(moment: datetime) -> None:
        for module in (attempts, finishing):
            monkeypatch.setattr(module, "utcnow", lambda: moment)

    return _set


def _start(client: TestClient, quiz: Any, headers: dict[str, str]) -> Any:
    return client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)


def _take(client: TestClient, quiz: Any, headers: dict[str, str]) -> Any:
    started = _start(client, quiz, headers)
    assert started.status_code == 201, started.text
    return client.post(
        f"/api/v1/quizzes/{quiz.id}/attempts/{started.json()['id']}/submit",
        json=answers_payload(quiz, ALL_RIGHT),
        headers=headers,
    )


@pytest.mark.parametrize(("passing", "passed"), [("70", True), ("90", False)])
def test_late_attempt_shows_penalty_beside_the_raw_score(
    client: TestClient,
    instructor: Any,
    student: Any,
    auth_headers: H,
    clock: Any,
    passing: str,
    passed: bool,
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(
        course,
        due_at=DUE,
        late_policy="penalty",
        penalty_percent_per_day=10,
        max_penalty_percent=50,
        passing_score=passing,
    )
    clock(DUE + timedelta(days=1, hours=12))
    body = _take(client, quiz, auth_headers(student)).json()
    assert body["percentage"] == "100.00" and body["is_late"] is True
    assert body["late_penalty_percent"] == "20.00" and body["final_percentage"] == "80.00"
    assert body["is_passed"] is passed


def test_on_time_attempt_is_not_late(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, due_at=DUE, late_policy="penalty", penalty_percent_per_day=10)
    clock(DUE - timedelta(minutes=5))
    body = _take(client, quiz, auth_headers(student)).json()
    assert body["is_late"] is False and body["final_percentage"] == "100.00"


@pytest.mark.parametrize(
    ("policy", "lock_offset", "code"),
    [("refuse", None, "deadline_passed"), ("penalty", timedelta(hours=1), "submission_locked")],
)
def test_refused_and_locked_starts_write_nothing(
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
    quiz = make_quiz(course, due_at=DUE, late_policy=policy, lock_at=lock)
    clock(DUE + timedelta(hours=1))
    refused = _start(client, quiz, auth_headers(student))
    assert refused.status_code == 422 and refused.json()["code"] == code
    assert refused.headers["content-type"].startswith("application/problem+json")
    info = client.get(f"/api/v1/quizzes/{quiz.id}/attempts/start", headers=auth_headers(student))
    assert info.json()["can_start"] is False and info.json()["reason"] == refused.json()["detail"]
    with session_scope() as db:
        assert db.query(QuizAttempt).count() == 0
    # The course's instructor still previews it.
    assert _start(client, quiz, auth_headers(instructor)).status_code == 201


def test_an_attempt_never_runs_past_the_lock(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    lock = DUE + timedelta(minutes=10)
    quiz = make_quiz(course, due_at=DUE, lock_at=lock, time_limit_minutes=60)
    clock(DUE)
    started = _start(client, quiz, auth_headers(student))
    assert started.json()["expires_at"].startswith("2026-05-04T17:10:00")


def test_extension_opens_the_quiz_for_that_student_only(
    client: TestClient,
    instructor: Any,
    student: Any,
    make_user: Any,
    auth_headers: H,
    clock: Any,
) -> None:
    other = make_user(role="student", email="other@example.com")
    stranger = make_user(role="student", email="stranger@example.com")
    course = make_course(instructor)
    enroll(student, course)
    enroll(other, course)
    quiz = make_quiz(course, due_at=DUE, late_policy="refuse")
    url = f"/api/v1/courses/{course.id}/quizzes/{quiz.id}/extensions"
    new_due = (DUE + timedelta(days=2)).isoformat()
    as_student = client.post(
        url, json={"student_id": str(student.id), "due_at": new_due}, headers=auth_headers(student)
    )
    assert as_student.status_code == 403
    not_enrolled = client.post(
        url,
        json={"student_id": str(stranger.id), "due_at": new_due},
        headers=auth_headers(instructor),
    )
    assert not_enrolled.status_code == 422 and not_enrolled.json()["code"] == "student_not_enrolled"
    granted = client.post(
        url,
        json={"student_id": str(student.id), "due_at": new_due},
        headers=auth_headers(instructor),
    )
    assert granted.status_code == 201, granted.text
    clock(DUE + timedelta(hours=1))
    body = _take(client, quiz, auth_headers(student)).json()
    assert body["is_late"] is False
    refused = _start(client, quiz, auth_headers(other))
    assert refused.status_code == 422 and refused.json()["code"] == "deadline_passed"


def test_a_withdrawn_extension_gives_the_quiz_its_own_dates_back(
    client: TestClient, instructor: Any, student: Any, auth_headers: H, clock: Any
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course, due_at=DUE, late_policy="refuse")
    url = f"/api/v1/courses/{course.id}/quizzes/{quiz.id}/extensions"
    body = {"student_id": str(student.id), "due_at": (DUE + timedelta(days=2)).isoformat()}
    assert client.post(url, json=body, headers=auth_headers(instructor)).status_code == 201
    own = f"{url}/{student.id}"
    assert client.delete(own, headers=auth_headers(student)).status_code == 403
    assert client.delete(own, headers=auth_headers(instructor)).status_code == 204
    again = client.delete(own, headers=auth_headers(instructor))
    assert again.status_code == 404 and again.json()["code"] == "extension_not_found"
    clock(DUE + timedelta(hours=1))
    refused = _start(client, quiz, auth_headers(student))
    assert refused.status_code == 422 and refused.json()["code"] == "deadline_passed"


def test_quiz_deadlines_are_validated(client: TestClient, instructor: Any, auth_headers: H) -> None:
    course = make_course(instructor)
    url = f"/api/v1/courses/{course.id}/quizzes"
    bad = client.post(
        url,
        json={
            "title": "Q",
            "due_at": DUE.isoformat(),
            "lock_at": (DUE - timedelta(days=1)).isoformat(),
        },
        headers=auth_headers(instructor),
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_deadlines"
    made = client.post(
        url,
        json={"title": "Q", "due_at": DUE.isoformat(), "late_policy": "refuse"},
        headers=auth_headers(instructor),
    )
    assert made.status_code == 201 and made.json()["late_policy"] == "refuse"
    assert made.json()["due_at"].startswith("2026-05-04T17:00:00")
