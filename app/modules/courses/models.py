"""The `courses`, `lessons` and `enrollments` tables.

The enrollments table (which student is enrolled in which course) is declared here because
the course's access rule reads it (who may read a lesson, a course's materials, its
statistics); the enrollments module, which builds on this one, owns enrolling, progress and
reviews, and re-exports the model."""

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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow


class DifficultyLevel(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class LessonType(StrEnum):
    VIDEO = "video"
    TEXT = "text"
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"


class Course(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "courses"
    __table_args__ = (
        # The public catalogue: published courses, newest first.
        Index("ix_courses_is_published_created_at", "is_published", "created_at"),
        # An instructor's own course list.
        Index("ix_courses_instructor_created_at", "instructor_id", "created_at"),
    )

    title: Mapped[str] = mapped_column(String(200))
    # Generated from the title at creation and never changed, so shared links keep working.
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    instructor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    difficulty_level: Mapped[str | None] = mapped_column(String(20))
    thumbnail_url: Mapped[str | None] = mapped_column(String(1000))
    estimated_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    # 0 means free; money is exact decimal plus an ISO 4217 code.
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None]
    # A course that had enrollments is archived instead of deleted, so no enrollment is
    # ever orphaned; archived courses leave the catalogue.
    archived_at: Mapped[datetime | None]
    # `metadata` is reserved on declarative classes, hence the attribute name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)

    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course",
        lazy="raise",
        order_by="Lesson.order_index",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def is_free(self) -> bool:
        return self.price <= 0


class Lesson(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "lessons"
    __table_args__ = (
        UniqueConstraint("course_id", "slug", name="uq_lessons_course_id_slug"),
        # Not unique: a reorder rewrites every order_index in one statement, and a unique
        # index would reject the intermediate states on SQLite.
        Index("ix_lessons_course_id_order_index", "course_id", "order_index"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220))
    lesson_type: Mapped[str] = mapped_column(String(20), default=LessonType.TEXT.value)
    content: Mapped[str | None] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(String(1000))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=0)
    order_index: Mapped[int] = mapped_column(Integer, default=0)
    # Preview lessons show their content to everyone, enrolled or not.
    is_preview: Mapped[bool] = mapped_column(Boolean, default=False)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)

    course: Mapped[Course] = relationship(back_populates="lessons", lazy="raise")


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DROPPED = "dropped"


# The enrollments that give their student the course: a dropped one keeps only its history.
ENROLLED_STATUSES = (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.COMPLETED.value)


class Enrollment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        # One enrollment per student and course, whatever the status: concurrent double
        # clicks cannot create two, and re-enrolling reactivates the dropped row.
        UniqueConstraint("student_id", "course_id", name="uq_enrollments_student_id_course_id"),
        Index("ix_enrollments_student_enrolled_at", "student_id", "enrolled_at"),
        Index("ix_enrollments_course_enrolled_at", "course_id", "enrolled_at"),
        Index("ix_enrollments_course_status", "course_id", "status"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        CheckConstraint(
            "progress_percentage >= 0 AND progress_percentage <= 100", name="progress_range"
        ),
    )

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default=EnrollmentStatus.ACTIVE.value)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    dropped_at: Mapped[datetime | None]
    last_accessed_at: Mapped[datetime | None]
    certificate_issued_at: Mapped[datetime | None]
    progress_percentage: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    completed_lessons_count: Mapped[int] = mapped_column(Integer, default=0)
    total_lessons_count: Mapped[int] = mapped_column(Integer, default=0)
    total_time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    review: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]

    course: Mapped[Course] = relationship(lazy="raise")


class Cohort(UUIDPrimaryKey, Timestamps, Base):
    """A class of a course's students (a course section in Canvas' terms, a group in Moodle's):
    its start anchors the members' relative release dates, and announcements and grading can
    address one cohort. Declared here, beside enrollments, because the access rule reads it."""

    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at", name="ends_after_start"
        ),
        Index("ix_cohorts_course_id_name", "course_id", "name"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]


class CohortMember(Base):
    """A student's membership of a cohort: at most one cohort per student and course."""

    __tablename__ = "cohort_members"
    __table_args__ = (
        UniqueConstraint("course_id", "student_id", name="uq_cohort_members_course_id_student_id"),
        Index("ix_cohort_members_cohort_id", "cohort_id"),
    )

    cohort_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The cohort's course, repeated so the database itself keeps one cohort per course.
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseRole(StrEnum):
    """A staff member's role in one course; what each may do is `access.CAPABILITIES`."""

    OWNER = "owner"
    INSTRUCTOR = "instructor"
    TEACHING_ASSISTANT = "teaching_assistant"


class CourseStaff(Base):
    """Who teaches a course and in which role. The owner's row mirrors `courses.instructor_id`
    (written when the course is created), so the staff list names everyone."""

    __tablename__ = "course_staff"
    __table_args__ = (
        # "The courses I teach": the SQL filter of the access rule starts from the user.
        Index("ix_course_staff_user_id_course_id", "user_id", "course_id"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(30))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CohortStaff(Base):
    """A teaching assistant assigned to a cohort: one with any such row grades only the
    students of their cohorts."""

    __tablename__ = "cohort_staff"
    __table_args__ = (Index("ix_cohort_staff_course_id_user_id", "course_id", "user_id"),)

    cohort_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
