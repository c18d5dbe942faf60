"""The `assignments` and `assignment_submissions` tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

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
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow
from app.core.latework import ExtensionColumns, LateWorkColumns, late_work_constraints


class SubmissionStatus(StrEnum):
    SUBMITTED = "submitted"
    GRADED = "graded"
    # Sent back by the instructor for another try; the student may resubmit.
    RETURNED = "returned"


class Assignment(UUIDPrimaryKey, Timestamps, LateWorkColumns, Base):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_course_id_due_at", "course_id", "due_at"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
        *late_work_constraints(),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    max_points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("100.00"))
    # Lower-case extensions without the dot ("pdf"); empty means no attachments allowed.
    allowed_file_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)


class Submission(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "assignment_submissions"
    __table_args__ = (
        # One submission per student and assignment; a resubmission replaces its content.
        UniqueConstraint(
            "assignment_id", "enrollment_id", name="uq_assignment_submissions_assignment_enrollment"
        ),
        Index("ix_assignment_submissions_assignment_status", "assignment_id", "status"),
        CheckConstraint("grade IS NULL OR grade >= 0", name="grade_non_negative"),
        CheckConstraint("status IN ('submitted', 'graded', 'returned')", name="status_valid"),
    )

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE")
    )
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str | None] = mapped_column(Text)
    # Ids of the student's uploaded files (the files table is owned by the files module).
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.SUBMITTED.value)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submission_count: Mapped[int] = mapped_column(Integer, default=1)
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    # The late penalty computed when this was submitted (0 when on time), frozen at submit.
    late_penalty_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    # Points the grader gave, before the late penalty; final_grade is what counts.
    grade: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    final_grade: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    feedback: Mapped[str | None] = mapped_column(Text)
    graded_at: Mapped[datetime | None]
    graded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class AssignmentExtension(UUIDPrimaryKey, Timestamps, ExtensionColumns, Base):
    """A student's own due date for one assignment."""

    __tablename__ = "assignment_extensions"
    __table_args__ = (
        UniqueConstraint(
            "assignment_id", "student_id", name="uq_assignment_extensions_assignment_student"
        ),
    )

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE")
    )
