"""What a course's managers read about its students: the roster and enrollment statistics."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.core.pagination import Page, PageParams
from app.modules.courses import access as courses_access
from app.modules.enrollments import repository
from app.modules.enrollments.models import EnrollmentStatus
from app.modules.enrollments.schemas import CourseEnrollmentStats, RosterEntry, StudentSummary
from app.modules.enrollments.service import enrollment_fields
from app.modules.users.models import User


def course_roster(
    db: Session,
    *,
    course_id: uuid.UUID,
    user: User,
    status: EnrollmentStatus | None,
    params: PageParams,
) -> Page[RosterEntry]:
    course = courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.ENROLLMENTS
    )
    rows, total = repository.list_for_course(
        db, course.id, status.value if status else None, params
    )
    items = [
        RosterEntry.model_validate(
            {**enrollment_fields(enrollment), "student": StudentSummary.model_validate(student)}
        )
        for enrollment, student in rows
    ]
    return Page[RosterEntry].build(items, total, params)


def course_enrollment_stats(
    db: Session, *, course_id: uuid.UUID, user: User
) -> CourseEnrollmentStats:
    course = courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.ENROLLMENTS
    )
    row = repository.course_stats(db, course.id)
    total = int(row.total or 0)
    completed = int(row.completed or 0)
    return CourseEnrollmentStats(
        course_id=course.id,
        total_enrollments=total,
        active=int(row.active or 0),
        completed=completed,
        dropped=int(row.dropped or 0),
        average_progress=round(float(row.average_progress or 0), 2),
        completion_rate=round(completed * 100 / total, 2) if total else 0.0,
        average_rating=round(float(row.average_rating), 2)
        if row.average_rating is not None
        else None,
        rating_count=int(row.rating_count or 0),
    )
