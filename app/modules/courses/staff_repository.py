"""Queries for a course's staff, its cohorts and their members."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from app.modules.courses.models import (
    ENROLLED_STATUSES,
    Cohort,
    CohortMember,
    CohortStaff,
    CourseStaff,
    Enrollment,
)
from app.modules.users.models import User


def staff_of_course(course_id: uuid.UUID) -> Select[CourseStaff, User]:
    return (
        select(CourseStaff, User)
        .join(User, User.id == CourseStaff.user_id)
        .where(CourseStaff.course_id == course_id)
        .order_by(CourseStaff.added_at, User.full_name, User.id)
    )


def get_staff(db: Session, course_id: uuid.UUID, user_id: uuid.UUID) -> CourseStaff | None:
    return db.get(CourseStaff, (course_id, user_id))


def taught_cohorts(
    db: Session, course_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The cohorts each of `user_ids` is assigned to in the course, in one query."""
    taught: dict[uuid.UUID, list[uuid.UUID]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return taught
    rows = db.execute(
        select(CohortStaff.user_id, CohortStaff.cohort_id)
        .where(CohortStaff.course_id == course_id, CohortStaff.user_id.in_(list(user_ids)))
        .order_by(CohortStaff.cohort_id)
    )
    for user_id, cohort_id in rows:
        taught[user_id].append(cohort_id)
    return taught


def set_taught_cohorts(
    db: Session, *, course_id: uuid.UUID, user_id: uuid.UUID, cohort_ids: Collection[uuid.UUID]
) -> None:
    db.execute(
        delete(CohortStaff).where(
            CohortStaff.course_id == course_id, CohortStaff.user_id == user_id
        )
    )
    db.add_all(
        CohortStaff(cohort_id=cohort_id, user_id=user_id, course_id=course_id)
        for cohort_id in cohort_ids
    )
    db.flush()


def cohort_ids_in_course(
    db: Session, course_id: uuid.UUID, cohort_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    if not cohort_ids:
        return set()
    return set(
        db.scalars(
            select(Cohort.id).where(Cohort.course_id == course_id, Cohort.id.in_(list(cohort_ids)))
        )
    )


def _member_count() -> Any:
    return (
        select(func.count())
        .where(CohortMember.cohort_id == Cohort.id)
        .correlate(Cohort)
        .scalar_subquery()
        .label("member_count")
    )


def cohorts_of_course(course_id: uuid.UUID) -> Select[Cohort, int]:
    return (
        select(Cohort, _member_count())
        .where(Cohort.course_id == course_id)
        .order_by(Cohort.name, Cohort.id)
    )


def cohort_with_count(db: Session, cohort_id: uuid.UUID) -> tuple[Cohort, int] | None:
    row = db.execute(select(Cohort, _member_count()).where(Cohort.id == cohort_id)).first()
    return (row[0], int(row[1])) if row is not None else None


def get_cohort(db: Session, cohort_id: uuid.UUID) -> Cohort | None:
    return db.get(Cohort, cohort_id)


def members_of_cohort(cohort_id: uuid.UUID) -> Select[uuid.UUID, str, str, datetime]:
    return (
        select(CohortMember.student_id, User.full_name, User.email, CohortMember.added_at)
        .join(User, User.id == CohortMember.student_id)
        .where(CohortMember.cohort_id == cohort_id)
        .order_by(User.full_name, User.email, User.id)
    )


def enrolled_among(
    db: Session, course_id: uuid.UUID, student_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `student_ids` are enrolled (active or completed) in the course, in one query."""
    if not student_ids:
        return set()
    return set(
        db.scalars(
            select(Enrollment.student_id).where(
                Enrollment.course_id == course_id,
                Enrollment.student_id.in_(list(student_ids)),
                Enrollment.status.in_(ENROLLED_STATUSES),
            )
        )
    )


def place_in_cohort(db: Session, *, cohort: Cohort, student_ids: Collection[uuid.UUID]) -> None:
    """Make `student_ids` members of `cohort`, moving them from any other cohort of its course
    (one DELETE and one INSERT, whatever their number)."""
    if not student_ids:
        return
    db.execute(
        delete(CohortMember).where(
            CohortMember.course_id == cohort.course_id,
            CohortMember.student_id.in_(list(student_ids)),
        )
    )
    db.add_all(
        CohortMember(cohort_id=cohort.id, student_id=student_id, course_id=cohort.course_id)
        for student_id in student_ids
    )
    db.flush()


def remove_other_members(db: Session, *, cohort_id: uuid.UUID, keep: Collection[uuid.UUID]) -> None:
    statement = delete(CohortMember).where(CohortMember.cohort_id == cohort_id)
    if keep:
        statement = statement.where(CohortMember.student_id.not_in(list(keep)))
    db.execute(statement)
