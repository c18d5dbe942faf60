"""Helpers for tests of course structure and release rules: the sections routes, items in a
request body, and the clock the release rule reads (`clock` fixture in conftest.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.courses.models import Cohort, CohortMember, CourseSection

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def sections_url(course: Any) -> str:
    return f"/api/v1/courses/{course.id}/sections"


def section_of(course_id: uuid.UUID) -> uuid.UUID:
    """The one section of a course made by `factories.create_course`."""
    with session_scope() as db:
        section = db.query(CourseSection).filter_by(course_id=course_id).one()
        return section.id


def join_new_cohort(course: Any, student: Any, *, name: str, starts_at: datetime) -> None:
    """Put an enrolled student in a new cohort of the course starting at `starts_at`."""
    with session_scope() as db:
        cohort = Cohort(course_id=course.id, name=name, starts_at=starts_at)
        db.add(cohort)
        db.flush()
        db.add(CohortMember(cohort_id=cohort.id, student_id=student.id, course_id=course.id))


def set_items(
    client: TestClient, course: Any, section_id: uuid.UUID, items: list[dict[str, Any]], h: Any
) -> Any:
    return client.put(
        f"{sections_url(course)}/{section_id}/items", json={"items": items}, headers=h
    )


def entry(kind: str, target_id: uuid.UUID, **release_fields: Any) -> dict[str, Any]:
    """One item of a `PUT .../items` body."""
    return {"kind": kind, "id": str(target_id), **release_fields}


def lesson_entry(lesson_id: uuid.UUID, **release_fields: Any) -> dict[str, Any]:
    return entry("lesson", lesson_id, **release_fields)
