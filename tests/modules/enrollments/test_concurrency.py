"""Races that the unique constraint and row locks must win, on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.database import session_scope
from app.core.errors import Conflict
from app.modules.enrollments import progress, service
from app.modules.enrollments.models import Enrollment, LessonProgress
from app.modules.enrollments.schemas import ProgressHeartbeat
from app.modules.users.principal import Principal
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
            return progress.complete_lesson(
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


def test_concurrent_retries_of_a_heartbeat_credit_its_time_once(
    instructor: Any, student: Any
) -> None:
    """The same heartbeat sent by several connections at once: the enrollment's row lock
    makes all but the first see the access it just recorded, so the time counts once."""
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    principal = Principal(
        user_id=student.id, token_version=student.token_version, token_id="0" * 32
    )
    beat = ProgressHeartbeat(position_seconds=40, time_spent_delta_seconds=25)

    def send() -> int:
        row = asyncio.run(
            progress.record_heartbeat(
                enrollment_id=enrollment_id,
                lesson_id=course.lesson_ids[0],
                principal=principal,
                data=beat,
            )
        )
        return row.last_position_seconds

    outcomes = _race(send)
    assert outcomes == [40] * THREADS, outcomes
    with session_scope() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.total_time_spent_seconds == 25
        spent = session.scalars(select(LessonProgress.time_spent_seconds)).all()
        assert spent == [25]
