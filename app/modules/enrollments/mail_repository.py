"""Queries of the scheduled learning mail (`app.modules.enrollments.jobs`): who receives the
weekly report or a course reminder, and their courses, each in one statement."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.permissions import Role
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment, EnrollmentStatus
from app.modules.notifications import repository as notifications_repository
from app.modules.users.models import User


def _mailable_students() -> Any:
    return and_(
        User.role == Role.STUDENT.value,
        User.is_active.is_(True),
        User.email_opt_out.is_(False),
    )


def weekly_report_recipients(db: Session, *, job: str, period: str) -> Sequence[User]:
    """Students (mailable) with at least one active enrollment, not yet sent `job` for
    `period`."""
    has_active = exists().where(
        Enrollment.student_id == User.id, Enrollment.status == EnrollmentStatus.ACTIVE.value
    )
    return db.scalars(
        select(User)
        .where(
            _mailable_students(),
            has_active,
            notifications_repository.not_sent(job, User.id, period),
        )
        .order_by(User.id)
    ).all()


def _inactive_since() -> Any:
    return func.coalesce(Enrollment.last_accessed_at, Enrollment.enrolled_at)


def reminder_recipients(db: Session, *, job: str, period: str, cutoff: datetime) -> Sequence[User]:
    """Students (mailable) with an active enrollment untouched since `cutoff`, not yet sent
    `job` for `period`."""
    stale = exists().where(
        Enrollment.student_id == User.id,
        Enrollment.status == EnrollmentStatus.ACTIVE.value,
        _inactive_since() < cutoff,
    )
    return db.scalars(
        select(User)
        .where(_mailable_students(), stale, notifications_repository.not_sent(job, User.id, period))
        .order_by(User.id)
    ).all()


def courses_by_student(
    db: Session, student_ids: list[uuid.UUID], *, cutoff: datetime | None = None
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Active enrollments of many students in one query (optionally only stale ones)."""
    frontend = get_settings().FRONTEND_URL.rstrip("/")
    statement = (
        select(
            Enrollment.student_id,
            Course.title,
            Course.slug,
            Enrollment.progress_percentage,
            Enrollment.completed_lessons_count,
            Enrollment.total_lessons_count,
        )
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            Enrollment.student_id.in_(student_ids),
            Enrollment.status == EnrollmentStatus.ACTIVE.value,
        )
        .order_by(Enrollment.student_id, Course.title)
    )
    if cutoff is not None:
        statement = statement.where(_inactive_since() < cutoff)
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in db.execute(statement):
        grouped[row.student_id].append(
            {
                "title": row.title,
                "url": f"{frontend}/courses/{row.slug}",
                "progress": int(row.progress_percentage),
                "completed_lessons": row.completed_lessons_count,
                "total_lessons": row.total_lessons_count,
            }
        )
    return grouped
