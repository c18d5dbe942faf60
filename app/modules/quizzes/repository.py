"""Queries for quizzes, questions and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.orm import Session

from app.modules.courses.models import ItemKind
from app.modules.courses.release import visible_to_students
from app.modules.quizzes.models import AttemptStatus, Quiz, QuizAttempt, QuizQuestion, QuizType


def get_quiz(db: Session, quiz_id: uuid.UUID, *, for_update: bool = False) -> Quiz | None:
    statement = select(Quiz).where(Quiz.id == quiz_id)
    if for_update:
        statement = statement.with_for_update()
    return db.scalars(statement).first()


def quiz_for_lesson(db: Session, lesson_id: uuid.UUID) -> Quiz | None:
    return db.scalars(select(Quiz).where(Quiz.lesson_id == lesson_id)).first()


def quizzes_of_course(
    course_id: uuid.UUID, *, published_only: bool, lesson_ids: list[uuid.UUID] | None = None
) -> Select[Any]:
    """The course's quizs; only those attached to `lesson_ids` when given."""
    statement = select(Quiz).where(Quiz.course_id == course_id)
    if published_only:
        # A student's view: published, and not in an unpublished section.
        statement = statement.where(
            Quiz.is_published.is_(True), visible_to_students(ItemKind.QUIZ, Quiz.id)
        )
    if lesson_ids is not None:
        statement = statement.where(Quiz.lesson_id.in_(lesson_ids))
    return statement.order_by(Quiz.created_at, Quiz.id)


def questions_query(quiz_id: uuid.UUID) -> Select[Any]:
    return (
        select(QuizQuestion)
        .where(QuizQuestion.quiz_id == quiz_id)
        .order_by(QuizQuestion.order_index, QuizQuestion.created_at, QuizQuestion.id)
    )


def list_questions(db: Session, quiz_id: uuid.UUID) -> Sequence[QuizQuestion]:
    return db.scalars(questions_query(quiz_id)).all()


def get_question(db: Session, quiz_id: uuid.UUID, question_id: uuid.UUID) -> QuizQuestion | None:
    return db.scalars(
        select(QuizQuestion).where(QuizQuestion.id == question_id, QuizQuestion.quiz_id == quiz_id)
    ).first()


def questions_by_id(db: Session, question_ids: Sequence[uuid.UUID]) -> dict[str, QuizQuestion]:
    if not question_ids:
        return {}
    rows = db.scalars(select(QuizQuestion).where(QuizQuestion.id.in_(question_ids))).all()
    return {str(row.id): row for row in rows}


def next_question_index(db: Session, quiz_id: uuid.UUID) -> int:
    current = db.scalar(
        select(func.max(QuizQuestion.order_index)).where(QuizQuestion.quiz_id == quiz_id)
    )
    return 0 if current is None else int(current) + 1


def count_questions(db: Session, quiz_id: uuid.UUID) -> int:
    return int(db.scalar(select(func.count()).where(QuizQuestion.quiz_id == quiz_id)) or 0)


def has_student_attempts(db: Session, quiz_id: uuid.UUID) -> bool:
    return bool(
        db.scalar(
            select(
                exists().where(
                    QuizAttempt.quiz_id == quiz_id, QuizAttempt.enrollment_id.is_not(None)
                )
            )
        )
    )


# --- attempts ------------------------------------------------------------------------------


def get_attempt(db: Session, quiz_id: uuid.UUID, attempt_id: uuid.UUID) -> QuizAttempt | None:
    return db.scalars(
        select(QuizAttempt).where(QuizAttempt.id == attempt_id, QuizAttempt.quiz_id == quiz_id)
    ).first()


def reload_attempt(db: Session, attempt_id: uuid.UUID) -> QuizAttempt:
    """Read the row again, replacing the copy in the session (after a conditional UPDATE)."""
    return db.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.id == attempt_id)
        .execution_options(populate_existing=True)
    ).one()


def in_progress_attempt(db: Session, quiz_id: uuid.UUID, user_id: uuid.UUID) -> QuizAttempt | None:
    return db.scalars(
        select(QuizAttempt).where(
            QuizAttempt.quiz_id == quiz_id,
            QuizAttempt.user_id == user_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS.value,
        )
    ).first()


def attempt_stats(db: Session, quiz_id: uuid.UUID, user_id: uuid.UUID) -> tuple[int, int]:
    """(number of attempts, highest attempt number) of a user on a quiz."""
    count, highest = db.execute(
        select(func.count(), func.coalesce(func.max(QuizAttempt.attempt_number), 0)).where(
            QuizAttempt.quiz_id == quiz_id, QuizAttempt.user_id == user_id
        )
    ).one()
    return int(count), int(highest)


def attempts_of_user(quiz_id: uuid.UUID, user_id: uuid.UUID) -> Select[Any]:
    return (
        select(QuizAttempt)
        .where(QuizAttempt.quiz_id == quiz_id, QuizAttempt.user_id == user_id)
        .order_by(QuizAttempt.attempt_number.desc())
    )


def attempts_of_quiz(quiz_id: uuid.UUID, *, students: Select[Any] | None = None) -> Select[Any]:
    """A quiz's attempts, of the students `students` selects when given."""
    statement = select(QuizAttempt).where(QuizAttempt.quiz_id == quiz_id)
    if students is not None:
        statement = statement.where(QuizAttempt.user_id.in_(students))
    return statement.order_by(QuizAttempt.started_at.desc(), QuizAttempt.id)


def finish_attempt(db: Session, attempt_id: uuid.UUID, values: dict[str, Any]) -> bool:
    """Move an in-progress attempt to its final state; False when another request already
    did (the WHERE on status makes a double submit grade once, on every backend)."""
    result = db.execute(
        update(QuizAttempt)
        .where(
            QuizAttempt.id == attempt_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def save_answers(db: Session, attempt_id: uuid.UUID, answers: dict[str, Any]) -> bool:
    result = db.execute(
        update(QuizAttempt)
        .where(
            QuizAttempt.id == attempt_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS.value,
        )
        .values(answers=answers)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def graded_quizzes_passed(db: Session, *, enrollment_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    passed = exists().where(
        QuizAttempt.quiz_id == Quiz.id,
        QuizAttempt.enrollment_id == enrollment_id,
        QuizAttempt.is_passed.is_(True),
    )
    missing = exists().where(
        and_(
            Quiz.course_id == course_id,
            Quiz.quiz_type == QuizType.GRADED.value,
            Quiz.is_published.is_(True),
            ~passed,
        )
    )
    return not db.scalar(select(missing))
