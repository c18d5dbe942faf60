"""Factories for courses, lessons and enrollments (direct inserts, no HTTP)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.database import session_scope, utcnow
from app.modules.courses.models import (
    Course,
    CourseRole,
    CourseSection,
    CourseStaff,
    ItemKind,
    Lesson,
    SectionItem,
)
from app.modules.enrollments.models import Enrollment
from app.modules.users.models import User

_counter = itertools.count(1)


@dataclass(frozen=True)
class SeededCourse:
    id: uuid.UUID
    slug: str
    instructor_id: uuid.UUID
    lesson_ids: list[uuid.UUID] = field(default_factory=list)


def create_course(
    instructor: User,
    *,
    title: str | None = None,
    published: bool = True,
    price: str = "0",
    currency: str = "USD",
    lessons: int = 2,
    lesson_types: list[str] | None = None,
    preview_lessons: int = 0,
    duration_minutes: int = 10,
    **fields: Any,
) -> SeededCourse:
    """A course with `lessons` published lessons; the first `preview_lessons` are previews."""
    number = next(_counter)
    title = title or f"Course {number}"
    with session_scope() as session:
        course = Course(
            title=title,
            slug=f"course-{number}-{uuid.uuid4().hex[:6]}",
            instructor_id=instructor.id,
            price=Decimal(price),
            currency=currency,
            is_published=published,
            published_at=utcnow() if published else None,
            **fields,
        )
        session.add(course)
        session.flush()
        session.add(
            CourseStaff(course_id=course.id, user_id=instructor.id, role=CourseRole.OWNER.value)
        )
        # As the migration arranges existing courses: one published section holding it all.
        section = CourseSection(course_id=course.id, title="Course content", is_published=True)
        session.add(section)
        session.flush()
        lesson_ids = []
        for index in range(lessons):
            lesson = Lesson(
                course_id=course.id,
                title=f"Lesson {index + 1}",
                slug=f"lesson-{index + 1}",
                lesson_type=(lesson_types or [])[index]
                if index < len(lesson_types or [])
                else "text",
                content=f"Content of lesson {index + 1}",
                duration_minutes=duration_minutes,
                order_index=index,
                is_preview=index < preview_lessons,
                is_published=True,
            )
            session.add(lesson)
            session.flush()
            session.add(
                SectionItem(
                    section_id=section.id,
                    course_id=course.id,
                    kind=ItemKind.LESSON.value,
                    lesson_id=lesson.id,
                    position=index,
                )
            )
            lesson_ids.append(lesson.id)
        return SeededCourse(course.id, course.slug, instructor.id, lesson_ids)


def create_enrollment(student: User, course: SeededCourse, **fields: Any) -> uuid.UUID:
    with session_scope() as session:
        enrollment = Enrollment(
            student_id=student.id,
            course_id=course.id,
            total_lessons_count=len(course.lesson_ids),
            **fields,
        )
        session.add(enrollment)
        session.flush()
        return enrollment.id


def let_time_pass(enrollment_id: uuid.UUID, seconds: int) -> None:
    """As if the enrollment had last been accessed `seconds` earlier: heartbeats credit no more
    time than has passed since then."""
    with session_scope() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.last_accessed_at is not None
        enrollment.last_accessed_at -= timedelta(seconds=seconds)


def bare_course(db: Session, instructor: User, *, sections: int) -> Course:
    """A published course with `sections` empty sections, in `db` (a migration test's own
    session on its own engine)."""
    course = Course(
        title="Migrated",
        slug=f"migrated-{uuid.uuid4().hex[:8]}",
        instructor_id=instructor.id,
        price=Decimal("0"),
        currency="USD",
        is_published=True,
    )
    db.add(course)
    db.flush()
    for position in range(sections):
        db.add(CourseSection(course_id=course.id, title=f"S{position}", position=position))
    db.flush()
    return course
