"""The `lesson_progress` table. The `enrollments` table is declared with the courses (the
course's access rule reads it); it is re-exported here for the modules that build on this one."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow
from app.modules.courses.models import Enrollment, EnrollmentStatus, Lesson

__all__ = [
    "Enrollment",
    "EnrollmentInvitation",
    "EnrollmentStatus",
    "LessonProgress",
    "ProgressStatus",
]


class ProgressStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class LessonProgress(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lesson_progress"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "lesson_id", name="uq_lesson_progress_enrollment_lesson"),
        CheckConstraint(
            "completion_percentage >= 0 AND completion_percentage <= 100", name="completion_range"
        ),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE")
    )
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ProgressStatus.NOT_STARTED.value)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # The furthest position reached (the resume point); heartbeats never move it back.
    last_position_seconds: Mapped[int] = mapped_column(Integer, default=0)
    completion_percentage: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    attempts_count: Mapped[int] = mapped_column(Integer, default=0)

    lesson: Mapped[Lesson] = relationship(lazy="raise")


class EnrollmentInvitation(UUIDPrimaryKey, Base):
    """An invitation to a course mailed to an address with no account yet: signing up with
    its token (as that address) enrolls the new student, into the cohort when one is named.
    Only the token's hash is stored; a used or expired invitation enrolls no one."""

    __tablename__ = "enrollment_invitations"
    __table_args__ = (Index("ix_enrollment_invitations_course_id_email", "course_id", "email"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    cohort_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL")
    )
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
