"""Queries for assignments and submissions."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import Session

from app.core.permissions import Role
from app.modules.assignments.models import Assignment, Submission, SubmissionStatus
from app.modules.courses.access import graded_course_ids
from app.modules.courses.models import ItemKind
from app.modules.courses.release import visible_to_students
from app.modules.users.models import User


def get_assignment(db: Session, assignment_id: uuid.UUID) -> Assignment | None:
    return db.get(Assignment, assignment_id)


def assignments_of_course(
    course_id: uuid.UUID, *, published_only: bool, lesson_ids: list[uuid.UUID] | None = None
) -> Select[Any]:
    """The course's assignments; only those attached to `lesson_ids` when given."""
    statement = select(Assignment).where(Assignment.course_id == course_id)
    if published_only:
        # A student's view: published, and not in an unpublished section.
        statement = statement.where(
            Assignment.is_published.is_(True),
            visible_to_students(ItemKind.ASSIGNMENT, Assignment.id),
        )
    if lesson_ids is not None:
        statement = statement.where(Assignment.lesson_id.in_(lesson_ids))
    # Undated assignments after dated ones, on every backend.
    return statement.order_by(
        Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at, Assignment.id
    )


def has_submissions(db: Session, assignment_id: uuid.UUID) -> bool:
    return bool(db.scalar(select(exists().where(Submission.assignment_id == assignment_id))))


def highest_grade(db: Session, assignment_id: uuid.UUID) -> Decimal | None:
    value = db.scalar(
        select(func.max(Submission.grade)).where(Submission.assignment_id == assignment_id)
    )
    return None if value is None else Decimal(str(value))


def get_submission(db: Session, submission_id: uuid.UUID) -> Submission | None:
    return db.get(Submission, submission_id)


def reload_submission(db: Session, submission_id: uuid.UUID) -> Submission:
    return db.scalars(
        select(Submission)
        .where(Submission.id == submission_id)
        .execution_options(populate_existing=True)
    ).one()


def submission_of(
    db: Session, assignment_id: uuid.UUID, enrollment_id: uuid.UUID
) -> Submission | None:
    return db.scalars(
        select(Submission).where(
            Submission.assignment_id == assignment_id, Submission.enrollment_id == enrollment_id
        )
    ).first()


def resubmit(db: Session, submission_id: uuid.UUID, values: dict[str, Any]) -> bool:
    """Replace the content unless the submission was graded meanwhile."""
    result = db.execute(
        update(Submission)
        .where(
            Submission.id == submission_id,
            Submission.status != SubmissionStatus.GRADED.value,
        )
        .values(submission_count=Submission.submission_count + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def submissions_of_assignment(
    assignment_id: uuid.UUID, status: str | None, *, students: Select[Any] | None = None
) -> Select[Any]:
    """An assignment's submissions, of the students `students` selects when given."""
    statement = select(Submission).where(Submission.assignment_id == assignment_id)
    if students is not None:
        statement = statement.where(Submission.student_id.in_(students))
    if status is not None:
        statement = statement.where(Submission.status == status)
    return statement.order_by(Submission.submitted_at, Submission.id)


def submissions_of_student(student_id: uuid.UUID, course_id: uuid.UUID | None) -> Select[Any]:
    statement = select(Submission).where(Submission.student_id == student_id)
    if course_id is not None:
        statement = statement.join(Assignment, Assignment.id == Submission.assignment_id).where(
            Assignment.course_id == course_id
        )
    return statement.order_by(Submission.submitted_at.desc(), Submission.id)


def attachment_lists_for_grader(
    db: Session, *, student_id: uuid.UUID, grader: User
) -> list[list[str]]:
    """The attachment id lists of `student_id`'s submissions that `grader` may grade (the
    courses where they grade that student; every course for an admin)."""
    statement = (
        select(Submission.file_ids)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(Submission.student_id == student_id)
    )
    if grader.role != Role.ADMIN:
        statement = statement.where(
            Assignment.course_id.in_(graded_course_ids(grader.id, student_id))
        )
    return [list(ids or []) for ids in db.scalars(statement)]
