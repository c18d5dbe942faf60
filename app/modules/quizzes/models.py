"""The `quizzes`, `quiz_questions` and `quiz_attempts` tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow
from app.core.latework import ExtensionColumns, LateWorkColumns, late_work_constraints


class QuizType(StrEnum):
    PRACTICE = "practice"
    GRADED = "graded"


class QuestionType(StrEnum):
    MULTIPLE_CHOICE = "multiple_choice"
    MULTIPLE_SELECT = "multiple_select"
    TRUE_FALSE = "true_false"
    SHORT_ANSWER = "short_answer"


CHOICE_TYPES = frozenset({QuestionType.MULTIPLE_CHOICE, QuestionType.MULTIPLE_SELECT})


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    # Every question type is graded automatically, so a submitted attempt is graded in the
    # same transaction; "submitted" is the state name for a hand-graded flow.
    SUBMITTED = "submitted"
    GRADED = "graded"


class Quiz(UUIDPrimaryKey, Timestamps, LateWorkColumns, Base):
    __tablename__ = "quizzes"
    __table_args__ = (
        Index("ix_quizzes_course_id_created_at", "course_id", "created_at"),
        CheckConstraint("passing_score >= 0 AND passing_score <= 100", name="passing_score_range"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes >= 1", name="time_limit_positive"
        ),
        *late_work_constraints(),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    # At most one quiz per lesson; a quiz without a lesson is a course-level assessment.
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    quiz_type: Mapped[str] = mapped_column(String(20), default=QuizType.PRACTICE.value)
    # Percentage (0-100) an attempt needs to pass.
    passing_score: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("70.00"))
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=False)
    show_correct_answers: Mapped[bool] = mapped_column(Boolean, default=True)
    # multiple_select scoring: all-or-nothing (false) or partial credit (true).
    partial_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None]


class QuizQuestion(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "quiz_questions"
    __table_args__ = (
        # Not unique: a reorder rewrites every order_index and SQLite checks row by row.
        Index("ix_quiz_questions_quiz_id_order_index", "quiz_id", "order_index"),
        CheckConstraint("points > 0", name="points_positive"),
    )

    quiz_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    question_text: Mapped[str] = mapped_column(Text)
    question_type: Mapped[str] = mapped_column(String(20))
    # [{"id": "a", "text": "..."}] for choice questions, null otherwise.
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # multiple_choice: option id; multiple_select: [option ids]; true_false: bool;
    # short_answer: [accepted answers]. Null while the question is a draft.
    correct_answer: Mapped[Any] = mapped_column(JSON, nullable=True)
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("1.00"))
    explanation: Mapped[str | None] = mapped_column(Text)
    order_index: Mapped[int] = mapped_column(Integer, default=0)


class QuizAttempt(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "quiz_attempts"
    __table_args__ = (
        # Two concurrent starts compute the same next number: one of them must fail, so
        # max_attempts holds without a lock.
        UniqueConstraint(
            "quiz_id", "user_id", "attempt_number", name="uq_quiz_attempts_quiz_user_number"
        ),
        # One in-progress attempt per user and quiz, enforced by the database.
        Index(
            "uq_quiz_attempts_one_in_progress",
            "quiz_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
        Index(
            "ix_quiz_attempts_enrollment_status_submitted_at",
            "enrollment_id",
            "status",
            "submitted_at",
        ),
        Index("ix_quiz_attempts_quiz_status_submitted_at", "quiz_id", "status", "submitted_at"),
        CheckConstraint("status IN ('in_progress', 'submitted', 'graded')", name="status_valid"),
    )

    quiz_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    # Null for a preview attempt by the course owner or an admin (not enrolled).
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    attempt_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.IN_PROGRESS.value)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    graded_at: Mapped[datetime | None]
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    max_score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    # Submitted after the (student's) due date: the late penalty frozen at grading, and the
    # percentage after it, which decides `is_passed`.
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    late_penalty_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    final_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    is_passed: Mapped[bool | None] = mapped_column(Boolean)
    time_taken_seconds: Mapped[int | None] = mapped_column(Integer)
    # {question_id: answer} as saved or submitted.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The question ids in the order this attempt shows them, and each choice question's
    # option ids in order: fixed at start so a reload shows the same order.
    question_order: Mapped[list[str]] = mapped_column(JSON, default=list)
    option_order: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # {question_id: {"points": "1.00", "is_correct": bool}} written when graded, so later
    # edits to a question never rewrite a past result.
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class QuizExtension(UUIDPrimaryKey, Timestamps, ExtensionColumns, Base):
    """A student's own due date for one quiz."""

    __tablename__ = "quiz_extensions"
    __table_args__ = (
        UniqueConstraint("quiz_id", "student_id", name="uq_quiz_extensions_quiz_student"),
    )

    quiz_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
