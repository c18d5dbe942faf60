"""The gradebook's queries: its columns (published graded quizzes and published assignments),
its students, and every graded cell of a course as one UNION (`app.modules.assignments.
gradebook` shapes the answers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, func, select, union_all
from sqlalchemy.orm import Session

from app.modules.assignments.models import Assignment, Submission, SubmissionStatus
from app.modules.courses.models import ItemKind, target_table
from app.modules.courses.release import shown_to_students
from app.modules.enrollments.models import Enrollment
from app.modules.lti import grades as lti_grades
from app.modules.quizzes.models import AttemptStatus, Quiz, QuizAttempt, QuizQuestion, QuizType
from app.modules.users.models import User


def shown_to_students_of(
    db: Session, kind: ItemKind, target_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these quizzes or assignments a student may see (`release.shown_to_students`)."""
    if not target_ids:
        return set()
    table = target_table(kind)
    return set(
        db.scalars(
            select(table.c.id).where(
                table.c.id.in_(list(target_ids)), shown_to_students(kind, table.c.id)
            )
        )
    )


def quiz_columns(db: Session, course_id: uuid.UUID) -> Sequence[Any]:
    """(id, title, max_points) of the course's published graded quizzes, oldest first."""
    # A quiz column is worth the points of its questions, as an attempt's max_score.
    quiz_points = (
        select(func.coalesce(func.sum(QuizQuestion.points), 0))
        .where(QuizQuestion.quiz_id == Quiz.id)
        .correlate(Quiz)
        .scalar_subquery()
    )
    return db.execute(
        select(Quiz.id, Quiz.title, quiz_points.label("max_points"))
        .where(
            Quiz.course_id == course_id,
            Quiz.quiz_type == QuizType.GRADED.value,
            Quiz.is_published.is_(True),
        )
        .order_by(Quiz.created_at, Quiz.id)
    ).all()


def assignment_columns(db: Session, course_id: uuid.UUID) -> Sequence[Any]:
    """(id, title, due_at, max_points) of the course's published assignments, by due date."""
    return db.execute(
        select(Assignment.id, Assignment.title, Assignment.due_at, Assignment.max_points)
        .where(Assignment.course_id == course_id, Assignment.is_published.is_(True))
        .order_by(
            Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at, Assignment.id
        )
    ).all()


def _graded_items(course_id: uuid.UUID) -> CTE:
    """(enrollment_id, item_id, earned, possible) for every graded cell of the course."""
    earned = QuizAttempt.score * (100 - QuizAttempt.late_penalty_percent) / 100
    ranked = (
        select(
            QuizAttempt.enrollment_id.label("enrollment_id"),
            QuizAttempt.quiz_id.label("item_id"),
            earned.label("earned"),
            QuizAttempt.max_score.label("possible"),
            func.row_number()
            .over(
                partition_by=(QuizAttempt.enrollment_id, QuizAttempt.quiz_id),
                order_by=(QuizAttempt.final_percentage.desc(), earned.desc()),
            )
            .label("rank"),
        )
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .where(
            Quiz.course_id == course_id,
            Quiz.quiz_type == QuizType.GRADED.value,
            Quiz.is_published.is_(True),
            QuizAttempt.status == AttemptStatus.GRADED.value,
            QuizAttempt.enrollment_id.is_not(None),
        )
        .subquery("ranked_attempts")
    )
    best_attempts = select(
        ranked.c.enrollment_id, ranked.c.item_id, ranked.c.earned, ranked.c.possible
    ).where(ranked.c.rank == 1)
    graded_submissions = (
        select(
            Submission.enrollment_id,
            Submission.assignment_id,
            Submission.final_grade,
            Assignment.max_points,
        )
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(
            Assignment.course_id == course_id,
            Assignment.is_published.is_(True),
            Submission.status == SubmissionStatus.GRADED.value,
        )
    )
    return union_all(best_attempts, graded_submissions, lti_grades.graded_results(course_id)).cte(
        "graded_items"
    )


def students(
    course_id: uuid.UUID, student_ids: Select[Any] | None = None
) -> Select[uuid.UUID, uuid.UUID, str, str, str]:
    """The course's students in gradebook order; only `student_ids` (a select of ids) when
    the grader's scope is limited."""
    statement = (
        select(
            Enrollment.id.label("enrollment_id"),
            Enrollment.student_id,
            Enrollment.status,
            User.full_name,
            User.email,
        )
        .join(User, User.id == Enrollment.student_id)
        .where(Enrollment.course_id == course_id)
        .order_by(User.full_name, User.email, Enrollment.id)
    )
    if student_ids is not None:
        statement = statement.where(Enrollment.student_id.in_(student_ids))
    return statement


def student_batch(
    db: Session,
    course_id: uuid.UUID,
    student_ids: Select[Any] | None,
    *,
    limit: int,
    offset: int,
) -> Sequence[Any]:
    return db.execute(students(course_id, student_ids).limit(limit).offset(offset)).all()


def grade_cells(
    db: Session, course_id: uuid.UUID, enrollment_ids: Sequence[uuid.UUID]
) -> tuple[Sequence[Any], Sequence[Any]]:
    """The graded cells (enrollment_id, item_id, earned, possible) of these enrollments, and
    their totals (enrollment_id, earned, possible), summed in SQL."""
    items = _graded_items(course_id)
    in_page: ColumnElement[bool] = items.c.enrollment_id.in_(enrollment_ids)
    cells = db.execute(select(items).where(in_page)).all()
    totals = db.execute(
        select(
            items.c.enrollment_id,
            func.sum(items.c.earned).label("earned"),
            func.sum(items.c.possible).label("possible"),
        )
        .where(in_page)
        .group_by(items.c.enrollment_id)
    ).all()
    return cells, totals
