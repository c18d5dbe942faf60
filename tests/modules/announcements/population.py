"""Many enrolled students at once (bulk inserts: no password hashing), for the fan-out's
worker test and benchmark."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from app.core.database import session_scope, utcnow
from app.modules.announcements.models import Announcement
from app.modules.courses.models import Enrollment
from app.modules.users.models import User
from tests.modules.courses.factories import SeededCourse


def enroll_many(course: SeededCourse, count: int, *, chunk: int = 1000) -> None:
    tag = uuid.uuid4().hex[:8]
    for start in range(0, count, chunk):
        ids = [uuid.uuid4() for _ in range(min(chunk, count - start))]
        now = utcnow()
        with session_scope() as db:
            db.execute(
                insert(User),
                [
                    {"id": uid, "email": f"s{start + n}-{tag}@example.com",
                     "full_name": f"Student {start + n}", "role": "student",
                     "created_at": now, "updated_at": now}
                    for n, uid in enumerate(ids)
                ],
            )  # fmt: skip
            db.execute(
                insert(Enrollment),
                [
                    {"id": uuid.uuid4(), "student_id": uid, "course_id": course.id,
                     "created_at": now, "updated_at": now, "enrolled_at": now}
                    for uid in ids
                ],
            )  # fmt: skip


def published_announcement(course: SeededCourse) -> uuid.UUID:
    """A published announcement not delivered yet (its fan-out is for the caller to run)."""
    with session_scope() as db:
        announcement = Announcement(
            course_id=course.id,
            author_id=course.instructor_id,
            title="Exam moved",
            body="To **Friday**.",
            published_at=utcnow(),
        )
        db.add(announcement)
        db.flush()
        return announcement.id
