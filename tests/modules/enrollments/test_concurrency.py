"""Races that the unique constraint and row locks must win, on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.database import session_scope
from app.core.errors import Conflict
from app.modules.enrollments import service
from app.modules.enrollments.models import Enrollment
from tests.modules.courses.factories import create_course, create_enrollment

pytestmark = pytest.mark.postgres

THREADS = 8


def _race(work: Callable[[], Any]) -> list[Any]:
    """Run `work` in THREADS threads released at the same instant; collect results/errors."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def runner() -> None:
        barrier.wait()
        try:
            result: Any = work()
        except Exception as exc:  # collected and asserted on by the test
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=runner) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_enrollments_create_one(
    instructor: Any, student: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor)

    def enroll() -> str:
        with session_scope() as session:
            return str(service.enroll(session, user=student, course_id=course.id).id)

    outcomes = _race(enroll)
    created = [o for o in outcomes if isinstance(o, str)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(created) == 1, outcomes
    assert len(conflicts) == THREADS - 1, outcomes
    with session_scope() as session:
        assert session.scalar(select(func.count(Enrollment.id))) == 1
    assert [name for name, _ in recorded] == ["enrollment.created"]


def test_concurrent_paid_activations_create_one(
    instructor: Any, student: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor, price="15.00")

    def activate() -> str:
        with session_scope() as session:
            enrollment = service.activate_paid_enrollment(
                session, student_id=student.id, course_id=course.id
            )
            return str(enrollment.id)

    outcomes = _race(activate)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    assert [name for name, _ in recorded] == ["enrollment.created"]


def test_concurrent_completions_complete_once(
    instructor: Any, student: Any, recorded: list[Any]
) -> None:
    course = create_course(instructor, lessons=THREADS)
    enrollment_id = create_enrollment(student, course)
    lessons = iter(course.lesson_ids)
    lessons_lock = threading.Lock()

    def complete() -> str:
        with lessons_lock:
            lesson_id = next(lessons)
        with session_scope() as session:
            return service.complete_lesson(
                session, enrollment_id=enrollment_id, lesson_id=lesson_id
            ).status

    outcomes = _race(complete)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    with session_scope() as session:
        row = session.get(Enrollment, enrollment_id)
        assert row is not None
        assert (row.status, row.completed_lessons_count, float(row.progress_percentage)) == (
            "completed",
            THREADS,
            100.0,
        )
    assert [name for name, _ in recorded] == ["course.completed"]
