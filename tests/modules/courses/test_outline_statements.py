"""The outline is read in a constant number of SQL statements: a course of 6 sections x 6
items costs the same statements as one of 2 x 2, for a student with progress (and locked
items waiting on prerequisites) and for the course's instructor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from app.core.database import session_scope, utcnow
from app.modules.assignments.models import Assignment
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    Course,
    CourseRole,
    CourseSection,
    CourseStaff,
    ItemKind,
    Lesson,
    ReleasePrerequisite,
    SectionItem,
)
from app.modules.enrollments.models import Enrollment, LessonProgress
from app.modules.quizzes.models import Quiz
from app.modules.users.models import User
from tests.factories import statements

H = Callable[[Any], dict[str, str]]
KINDS = (ItemKind.LESSON, ItemKind.QUIZ, ItemKind.ASSIGNMENT)


def _target(kind: ItemKind, course_id: uuid.UUID, number: int) -> Any:
    title = f"{kind.value} {number}"
    if kind is ItemKind.LESSON:
        return Lesson(
            course_id=course_id,
            title=title,
            slug=f"lesson-{number}",
            content="Text",
            order_index=number,
            is_published=True,
        )
    if kind is ItemKind.QUIZ:
        return Quiz(course_id=course_id, title=title, is_published=True, published_at=utcnow())
    return Assignment(course_id=course_id, title=title, is_published=True)


def build_course(instructor: User, student: User, *, sections: int, items: int) -> uuid.UUID:
    """`sections` published sections of `items` items (lessons, quizzes and assignments in
    turn); each section's second item waits for its first, the student completed the first
    lesson of every section."""
    with session_scope() as db:
        course = Course(
            title="Structured",
            slug=f"structured-{uuid.uuid4().hex[:8]}",
            instructor_id=instructor.id,
            is_published=True,
            published_at=utcnow(),
        )
        db.add(course)
        db.flush()
        db.add(CourseStaff(course_id=course.id, user_id=instructor.id, role=CourseRole.OWNER.value))
        enrollment = Enrollment(student_id=student.id, course_id=course.id)
        db.add(enrollment)
        number = 0
        for section_index in range(sections):
            section = CourseSection(
                course_id=course.id,
                title=f"Week {section_index + 1}",
                position=section_index,
                is_published=True,
            )
            db.add(section)
            db.flush()
            placed: list[SectionItem] = []
            for position in range(items):
                kind = KINDS[position % len(KINDS)]
                target = _target(kind, course.id, number)
                number += 1
                db.add(target)
                db.flush()
                column, _table = ITEM_TARGET_COLUMNS[kind]
                item = SectionItem(
                    section_id=section.id,
                    course_id=course.id,
                    kind=kind.value,
                    position=position,
                    **{column: target.id},
                )
                db.add(item)
                db.flush()
                placed.append(item)
                if kind is ItemKind.LESSON and position == 0:
                    db.add(
                        LessonProgress(
                            enrollment_id=enrollment.id,
                            lesson_id=target.id,
                            status="completed",
                            completed_at=utcnow(),
                            completion_percentage=100,
                        )
                    )
            db.add(
                ReleasePrerequisite(
                    course_id=course.id, item_id=placed[1].id, required_item_id=placed[0].id
                )
            )
            db.add(
                ReleasePrerequisite(
                    course_id=course.id, item_id=placed[-1].id, required_item_id=placed[1].id
                )
            )
        return course.id


def _outline_statements(client: TestClient, course_id: uuid.UUID, headers: dict[str, str]) -> int:
    url = f"/api/v1/courses/{course_id}/outline"
    assert client.get(url, headers=headers).status_code == 200  # warm: first-use caches
    with statements() as seen:
        answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return len(seen)


def test_the_outline_statement_count_does_not_grow_with_the_items(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    small = build_course(instructor, student, sections=2, items=2)
    large = build_course(instructor, student, sections=6, items=6)
    as_student = auth_headers(student)
    as_teacher = auth_headers(instructor)

    # The large outline is the one described: 36 items, locked ones with their reasons.
    body = client.get(f"/api/v1/courses/{large}/outline", headers=as_student).json()
    states = [item["state"] for section in body["sections"] for item in section["items"]]
    assert len(states) == 36
    assert states[:6] == ["completed", "open", "open", "open", "open", "locked"]
    teacher = client.get(f"/api/v1/courses/{large}/outline", headers=as_teacher).json()
    assert teacher["sections"][0]["items"][0]["completed_count"] == 1

    student_counts = [_outline_statements(client, course, as_student) for course in (small, large)]
    teacher_counts = [_outline_statements(client, course, as_teacher) for course in (small, large)]
    assert student_counts[0] == student_counts[1], student_counts
    assert teacher_counts[0] == teacher_counts[1], teacher_counts
