"""Progress heartbeats, lesson completion, course completion and recalculation."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from sqlalchemy import func, select, update

from app.core.database import get_engine, session_scope
from app.core.errors import BusinessRuleViolation, NotFound
from app.modules.enrollments import progress
from app.modules.enrollments.models import Enrollment, LessonProgress
from app.modules.users.models import User
from tests.factories import statements
from tests.modules.courses.factories import create_course, create_enrollment, let_time_pass

API = "/api/v1"


def _url(enrollment_id: Any, lesson_id: Any, action: str = "progress") -> str:
    return f"{API}/enrollments/{enrollment_id}/lessons/{lesson_id}/{action}"


@pytest.fixture
def setup(instructor: Any, student: Any) -> tuple[Any, Any]:
    course = create_course(instructor, lessons=3)
    return course, create_enrollment(student, course)


# --- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_is_monotonic(client: Any, setup: Any, student: Any, auth_headers: Any) -> None:
    course, enrollment_id = setup
    headers = auth_headers(student)
    url = _url(enrollment_id, course.lesson_ids[0])
    beats = [
        {"position_seconds": 120, "time_spent_delta_seconds": 20, "completion_percentage": 40},
        # Late or rewound: must not lower the position or percentage.
        {"position_seconds": 30, "time_spent_delta_seconds": 10, "completion_percentage": 10},
        {"position_seconds": 120, "time_spent_delta_seconds": 0, "completion_percentage": 40},
    ]
    for beat in beats:
        response = client.put(url, json=beat, headers=headers)
        assert response.status_code == 200, response.text
        let_time_pass(enrollment_id, 60)
    body = response.json()
    assert body["last_position_seconds"] == 120
    assert body["completion_percentage"] == 40.0
    assert body["time_spent_seconds"] == 30
    assert body["status"] == "in_progress"
    detail = client.get(f"{API}/enrollments/{enrollment_id}", headers=headers).json()
    assert detail["total_time_spent_seconds"] == 30
    assert detail["last_accessed_at"] is not None and detail["started_at"] is not None
    assert detail["lessons"][0]["last_position_seconds"] == 120


def test_a_heartbeat_at_100_percent_does_not_complete_the_lesson(
    client: Any, setup: Any, student: Any, auth_headers: Any
) -> None:
    course, enrollment_id = setup
    headers = auth_headers(student)
    beat = {"position_seconds": 900, "time_spent_delta_seconds": 60, "completion_percentage": 100}
    response = client.put(_url(enrollment_id, course.lesson_ids[0]), json=beat, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "in_progress"
    detail = client.get(f"{API}/enrollments/{enrollment_id}", headers=headers).json()
    assert detail["completed_lessons_count"] == 0
    completed = client.post(_url(enrollment_id, course.lesson_ids[0], "complete"), headers=headers)
    assert completed.json()["completed_lessons_count"] == 1


def _time_spent(enrollment_id: Any) -> tuple[int, int]:
    """(the enrollment's total, the sum over its lessons)."""
    with session_scope() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None
        lessons = session.scalar(
            select(func.sum(LessonProgress.time_spent_seconds)).where(
                LessonProgress.enrollment_id == enrollment_id
            )
        )
        return enrollment.total_time_spent_seconds, int(lessons or 0)


def test_a_repeated_heartbeat_credits_its_time_once(
    client: Any, setup: Any, student: Any, auth_headers: Any
) -> None:
    """A client retrying a heartbeat (a timeout, a double send) must not double the time."""
    course, enrollment_id = setup
    headers = auth_headers(student)
    url = _url(enrollment_id, course.lesson_ids[0])
    beat = {"position_seconds": 50, "time_spent_delta_seconds": 20, "completion_percentage": 30}
    for _ in range(3):
        response = client.put(url, json=beat, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["time_spent_seconds"] == 20
        assert response.json()["last_position_seconds"] == 50
    assert _time_spent(enrollment_id) == (20, 20)


def test_heartbeats_credit_no_more_time_than_has_passed(
    client: Any, setup: Any, student: Any, auth_headers: Any
) -> None:
    """Time spent cannot outrun the clock: each heartbeat adds its delta, at most the time
    since the enrollment's previous access, across the course's lessons."""
    course, enrollment_id = setup
    headers = auth_headers(student)
    first, second = (_url(enrollment_id, lesson) for lesson in course.lesson_ids[:2])
    beat = {"time_spent_delta_seconds": 30}
    assert client.put(first, json=beat, headers=headers).json()["time_spent_seconds"] == 30
    let_time_pass(enrollment_id, 7)
    assert client.put(first, json=beat, headers=headers).json()["time_spent_seconds"] == 37
    # Another lesson of the same course shares the enrollment's clock.
    let_time_pass(enrollment_id, 12)
    assert client.put(second, json=beat, headers=headers).json()["time_spent_seconds"] == 12
    let_time_pass(enrollment_id, 3600)
    assert client.put(second, json=beat, headers=headers).json()["time_spent_seconds"] == 42
    assert _time_spent(enrollment_id) == (79, 79)


def test_heartbeat_is_one_statement_on_postgresql(
    client: Any, setup: Any, student: Any, auth_headers: Any
) -> None:
    """No user read, no lesson read: the write itself checks the student, the token's version
    and the lesson. PostgreSQL runs it as one statement (no BEGIN/COMMIT round trips either);
    SQLite, which cannot write in a CTE, as the time credit's read, the touch, then the
    upsert."""
    course, enrollment_id = setup
    headers = auth_headers(student)
    url = _url(enrollment_id, course.lesson_ids[0])
    client.put(url, json={"position_seconds": 5}, headers=headers)
    with statements() as seen:
        assert client.put(url, json={"position_seconds": 10}, headers=headers).status_code == 200
    if get_engine().dialect.name == "postgresql":
        assert len(seen) == 1, seen
        # The release rule's CTEs come first, then the locked credit read.
        assert seen[0].lstrip().upper().startswith("WITH") and "PREVIOUS AS" in seen[0].upper()
        assert "UPDATE enrollments" in seen[0] and "INSERT INTO lesson_progress" in seen[0]
    else:
        work = [s.lstrip().upper() for s in seen if "enrollments" in s or "lesson_progress" in s]
        assert len(work) == 3, seen
        assert work[0].startswith(("SELECT", "WITH")) and "FROM ENROLLMENTS" in work[0]
        assert "USERS" not in work[0] and "LESSONS" not in work[0]
        assert work[1].startswith("UPDATE ENROLLMENTS")
        assert work[2].startswith("INSERT INTO LESSON_PROGRESS")
    assert all("FROM users" in s for s in seen if s.lstrip().upper().startswith("UPDATE"))


def _nothing_recorded(enrollment_id: Any) -> None:
    with session_scope() as session:
        assert session.scalar(select(LessonProgress.id)) is None
        row = session.get(Enrollment, enrollment_id)
        assert row is not None and row.last_accessed_at is None
        assert row.total_time_spent_seconds == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [({"is_active": False}, "user_inactive"), ({"token_version": 1}, "token_revoked")],
)
def test_heartbeat_refuses_a_deactivated_student_or_an_older_token(
    client: Any,
    setup: Any,
    student: Any,
    auth_headers: Any,
    change: dict[str, Any],
    code: str,
) -> None:
    """A deactivated student, or a token minted before a password change or "sign out
    everywhere" bumped the version, is refused though the heartbeat never loads the user."""
    course, enrollment_id = setup
    headers = auth_headers(student)
    with session_scope() as session:
        session.execute(update(User).where(User.id == student.id).values(**change))
    beat = {"position_seconds": 9, "time_spent_delta_seconds": 5}
    response = client.put(_url(enrollment_id, course.lesson_ids[0]), json=beat, headers=headers)
    assert response.status_code == 401 and response.json()["code"] == code
    _nothing_recorded(enrollment_id)


def test_heartbeat_refuses_a_revoked_or_forged_token(
    client: Any, setup: Any, student: Any, auth_headers: Any
) -> None:
    course, enrollment_id = setup
    headers = auth_headers(student)
    url = _url(enrollment_id, course.lesson_ids[0])
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256")
    response = client.put(url, json={}, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert client.put(url, json={}).status_code == 401
    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    response = client.put(url, json={"time_spent_delta_seconds": 5}, headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "token_revoked"
    _nothing_recorded(enrollment_id)


def test_heartbeat_does_not_undo_completion(
    client: Any, setup: Any, student: Any, auth_headers: Any
) -> None:
    course, enrollment_id = setup
    headers = auth_headers(student)
    client.post(_url(enrollment_id, course.lesson_ids[0], "complete"), headers=headers)
    beat = client.put(
        _url(enrollment_id, course.lesson_ids[0]),
        json={"completion_percentage": 5},
        headers=headers,
    ).json()
    assert beat["status"] == "completed"
    assert beat["completion_percentage"] == 100.0


@pytest.mark.parametrize(
    "body",
    [
        {"position_seconds": -1},
        {"time_spent_delta_seconds": 601},
        {"time_spent_delta_seconds": -5},
        {"completion_percentage": 101},
        {"completion_percentage": "lots"},
    ],
)
def test_heartbeat_validation(
    client: Any, setup: Any, student: Any, auth_headers: Any, body: dict[str, Any]
) -> None:
    course, enrollment_id = setup
    response = client.put(
        _url(enrollment_id, course.lesson_ids[0]), json=body, headers=auth_headers(student)
    )
    assert response.status_code == 422
    with session_scope() as session:
        assert session.scalar(select(LessonProgress.id)) is None


def test_student_cannot_touch_another_students_progress(
    client: Any, setup: Any, other_student: Any, instructor: Any, auth_headers: Any
) -> None:
    course, enrollment_id = setup
    for intruder in (other_student, instructor):
        headers = auth_headers(intruder)
        beat = client.put(
            _url(enrollment_id, course.lesson_ids[0]), json={"position_seconds": 9}, headers=headers
        )
        assert beat.status_code == 403
        done = client.post(_url(enrollment_id, course.lesson_ids[0], "complete"), headers=headers)
        assert done.status_code == 403
    with session_scope() as session:
        assert session.scalar(select(LessonProgress.id)) is None
        row = session.get(Enrollment, enrollment_id)
        assert row is not None and row.last_accessed_at is None


def test_heartbeat_refusals(client: Any, instructor: Any, student: Any, auth_headers: Any) -> None:
    headers = auth_headers(student)
    course = create_course(instructor, lessons=1)
    elsewhere = create_course(instructor, lessons=1)
    enrollment_id = create_enrollment(student, course)
    foreign = client.put(_url(enrollment_id, elsewhere.lesson_ids[0]), json={}, headers=headers)
    assert foreign.status_code == 404 and foreign.json()["code"] == "lesson_not_found"
    missing = client.put(
        _url("00000000-0000-0000-0000-000000000000", course.lesson_ids[0]), json={}, headers=headers
    )
    assert missing.status_code == 404
    dropped_course = create_course(instructor, lessons=1)
    dropped_id = create_enrollment(student, dropped_course, status="dropped")
    dropped = client.put(_url(dropped_id, dropped_course.lesson_ids[0]), json={}, headers=headers)
    assert dropped.status_code == 422 and dropped.json()["code"] == "enrollment_dropped"
    with session_scope() as session:
        assert session.scalar(select(LessonProgress.id)) is None


# --- completion ------------------------------------------------------------------------------


def test_completing_all_lessons_completes_once(
    client: Any, setup: Any, student: Any, auth_headers: Any, recorded: list[Any]
) -> None:
    course, enrollment_id = setup
    headers = auth_headers(student)
    percentages = []
    for lesson_id in course.lesson_ids:
        body = client.post(_url(enrollment_id, lesson_id, "complete"), headers=headers).json()
        percentages.append(body["progress_percentage"])
        assert body["completed_lessons_count"] == len(percentages)
    assert percentages == [33.33, 66.67, 100.0]
    completed_at = body["completed_at"]
    # Completing again (any lesson) is idempotent: no second event, same completion time.
    for lesson_id in course.lesson_ids:
        again = client.post(_url(enrollment_id, lesson_id, "complete"), headers=headers).json()
        assert again["status"] == "completed" and again["completed_at"] == completed_at
        assert again["completed_lessons_count"] == 3
    assert [name for name, _ in recorded] == ["course.completed"]


def test_quiz_lessons_complete_only_through_the_quiz(
    client: Any, instructor: Any, student: Any, auth_headers: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor, lessons=2, lesson_types=["text", "quiz"])
    enrollment_id = create_enrollment(student, course)
    headers = auth_headers(student)
    client.post(_url(enrollment_id, course.lesson_ids[0], "complete"), headers=headers)
    refused = client.post(_url(enrollment_id, course.lesson_ids[1], "complete"), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "quiz_lesson_requires_quiz"
    with session_scope() as session:
        enrollment = progress.complete_lesson(
            session, enrollment_id=enrollment_id, lesson_id=course.lesson_ids[1], via_quiz=True
        )
        assert enrollment.status == "completed"
    assert [name for name, _ in recorded] == ["course.completed"]


def test_complete_lesson_refuses_foreign_lessons_and_dropped_enrollments(
    instructor: Any, student: Any
) -> None:
    course = create_course(instructor, lessons=1)
    other = create_course(instructor, lessons=1)
    enrollment_id = create_enrollment(student, course)
    with session_scope() as session, pytest.raises(NotFound) as caught:
        progress.complete_lesson(
            session, enrollment_id=enrollment_id, lesson_id=other.lesson_ids[0]
        )
    assert caught.value.code == "lesson_not_found"
    dropped_id = create_enrollment(student, other, status="dropped")
    with session_scope() as session, pytest.raises(BusinessRuleViolation):
        progress.complete_lesson(session, enrollment_id=dropped_id, lesson_id=other.lesson_ids[0])


def test_lesson_changes_recalculate_enrollments(
    client: Any, setup: Any, student: Any, instructor: Any, auth_headers: Any
) -> None:
    course, enrollment_id = setup
    learner, teacher = auth_headers(student), auth_headers(instructor)
    client.post(_url(enrollment_id, course.lesson_ids[0], "complete"), headers=learner)
    client.post(
        f"{API}/courses/{course.id}/lessons",
        json={"title": "Bonus", "is_published": True},
        headers=teacher,
    )
    detail = client.get(f"{API}/enrollments/{enrollment_id}", headers=learner).json()
    assert (detail["completed_lessons_count"], detail["total_lessons_count"]) == (1, 4)
    assert detail["progress_percentage"] == 25.0
    client.delete(f"{API}/lessons/{course.lesson_ids[2]}", headers=teacher)
    detail = client.get(f"{API}/enrollments/{enrollment_id}", headers=learner).json()
    assert (detail["total_lessons_count"], detail["progress_percentage"]) == (3, 33.33)
