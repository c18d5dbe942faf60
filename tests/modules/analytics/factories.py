"""Rows of the learning, assessment and payment tables, inserted directly with the ORM so
certificate, file and analytics tests control every number."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.core.database import session_scope, utcnow
from app.modules.courses.models import Course, Lesson
from app.modules.enrollments.models import Enrollment, LessonProgress
from app.modules.users.models import User

_counter = itertools.count(1)


def _insert(row: Any) -> Any:
    with session_scope() as session:
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def create_course(
    instructor: User, *, title: str | None = None, lessons: int = 0, **fields: Any
) -> Course:
    number = next(_counter)
    values: dict[str, Any] = {"is_published": True, "published_at": utcnow(), **fields}
    course = _insert(
        Course(
            title=title or f"Course {number}",
            slug=f"course-{number}-{uuid.uuid4().hex[:6]}",
            instructor_id=instructor.id,
            **values,
        )
    )
    for index in range(lessons):
        create_lesson(course, order_index=index)
    return course


def create_lesson(course: Course, *, order_index: int = 0, **fields: Any) -> Lesson:
    return _insert(
        Lesson(
            course_id=course.id,
            title=fields.pop("title", f"Lesson {order_index + 1}"),
            slug=f"lesson-{order_index + 1}-{uuid.uuid4().hex[:6]}",
            order_index=order_index,
            is_published=True,
            **fields,
        )
    )


def lessons_of(course: Course) -> list[Lesson]:
    from sqlalchemy import select

    with session_scope() as session:
        rows = list(
            session.scalars(
                select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.order_index)
            )
        )
        for row in rows:
            session.expunge(row)
    return rows


def create_enrollment(
    student: User,
    course: Course,
    *,
    completed: bool = False,
    enrolled_at: datetime | None = None,
    **fields: Any,
) -> Enrollment:
    now = utcnow()
    values: dict[str, Any] = {
        "status": "completed" if completed else "active",
        "enrolled_at": enrolled_at or now,
    }
    if completed:
        values.update(completed_at=fields.pop("completed_at", now), progress_percentage=100)
    values.update(fields)
    return _insert(Enrollment(student_id=student.id, course_id=course.id, **values))


def create_progress(
    enrollment: Enrollment,
    lesson: Lesson,
    *,
    completed: bool = True,
    time_spent_seconds: int = 0,
    at: datetime | None = None,
) -> LessonProgress:
    moment = at or utcnow()
    return _insert(
        LessonProgress(
            enrollment_id=enrollment.id,
            lesson_id=lesson.id,
            status="completed" if completed else "in_progress",
            started_at=moment - timedelta(seconds=time_spent_seconds),
            completed_at=moment if completed else None,
            completion_percentage=Decimal(100 if completed else 50),
            time_spent_seconds=time_spent_seconds,
        )
    )


def create_quiz(course: Course, *, graded: bool = True, **fields: Any) -> Any:
    from app.modules.quizzes.models import Quiz

    return _insert(
        Quiz(
            course_id=course.id,
            title=fields.pop("title", f"Quiz {next(_counter)}"),
            quiz_type="graded" if graded else "practice",
            is_published=True,
            **fields,
        )
    )


def create_attempt(
    quiz: Any,
    enrollment: Enrollment,
    *,
    percentage: float,
    passed: bool,
    attempt_number: int = 1,
    at: datetime | None = None,
) -> Any:
    from app.modules.quizzes.models import QuizAttempt

    moment = at or utcnow()
    return _insert(
        QuizAttempt(
            quiz_id=quiz.id,
            enrollment_id=enrollment.id,
            user_id=enrollment.student_id,
            attempt_number=attempt_number,
            status="graded",
            started_at=moment - timedelta(minutes=5),
            submitted_at=moment,
            graded_at=moment,
            score=Decimal(str(percentage)),
            max_score=Decimal(100),
            percentage=Decimal(str(percentage)),
            is_passed=passed,
        )
    )


def create_payment(
    user: User,
    course: Course,
    *,
    amount: str,
    currency: str = "USD",
    status: str = "completed",
    at: datetime | None = None,
) -> Any:
    from app.modules.payments.models import Payment

    moment = at or utcnow()
    return _insert(
        Payment(
            user_id=user.id,
            course_id=course.id,
            amount=Decimal(amount),
            currency=currency,
            gateway="sandbox",
            status=status,
            completed_at=moment if status == "completed" else None,
        )
    )
