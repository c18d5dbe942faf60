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
    Table,
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


# --- course structure: sections, their items and release rules ----------------------------


class ItemKind(StrEnum):
    """What a section item points at. A new kind is a value here, a column in
    `ITEM_TARGET_COLUMNS` (and the migration adding it) and a registered completion rule."""

    LESSON = "lesson"
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"
    LTI = "lti"


# The column of `section_items` holding each kind's target, and the table it references.
ITEM_TARGET_COLUMNS: dict[ItemKind, tuple[str, str]] = {
    ItemKind.LESSON: ("lesson_id", "lessons.id"),
    ItemKind.QUIZ: ("quiz_id", "quizzes.id"),
    ItemKind.ASSIGNMENT: ("assignment_id", "assignments.id"),
    # A resource link of an LTI tool (the lti module owns the table and its completion).
    ItemKind.LTI: ("lti_link_id", "lti_resource_links.id"),
}


def target_table(kind: ItemKind) -> Table:
    """The table of `kind`'s targets (each has `id`, `course_id`, `title`, `is_published`)."""
    _column, reference = ITEM_TARGET_COLUMNS[kind]
    return Base.metadata.tables[reference.split(".")[0]]


def _exactly_one_target() -> str:
    """The check that an item's kind names its one set target column."""
    clauses = []
    for kind, (column, _table) in ITEM_TARGET_COLUMNS.items():
        others = [name for name, _ in ITEM_TARGET_COLUMNS.values() if name != column]
        nulls = " AND ".join(f"{name} IS NULL" for name in others)
        clauses.append(f"(kind = '{kind.value}' AND {column} IS NOT NULL AND {nulls})")
    return " OR ".join(clauses)


class ReleaseColumns:
    """When a section or an item opens: from/until dates (UTC) and a number of days after
    the learner's start (their cohort's start, else their enrollment)."""

    available_from: Mapped[datetime | None]
    available_until: Mapped[datetime | None]
    release_after_days: Mapped[int | None] = mapped_column(Integer)


class CourseSection(UUIDPrimaryKey, Timestamps, ReleaseColumns, Base):
    """A module of a course: an ordered group of items with its own release rules."""

    __tablename__ = "course_sections"
    __table_args__ = (
        Index("ix_course_sections_course_id_position", "course_id", "position"),
        CheckConstraint(
            "available_until IS NULL OR available_from IS NULL OR available_until > available_from",
            name="window_order",
        ),
        CheckConstraint(
            "release_after_days IS NULL OR release_after_days >= 0", name="days_non_negative"
        ),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)


class SectionItem(UUIDPrimaryKey, Timestamps, ReleaseColumns, Base):
    """One entry of a section: exactly one lesson, quiz, assignment or LTI link, in one
    section only (each target column is unique)."""

    __tablename__ = "section_items"
    __table_args__ = (
        Index("ix_section_items_section_id_position", "section_id", "position"),
        Index("ix_section_items_course_id", "course_id"),
        CheckConstraint(_exactly_one_target(), name="one_target"),
        CheckConstraint(
            "available_until IS NULL OR available_from IS NULL OR available_until > available_from",
            name="window_order",
        ),
        CheckConstraint(
            "release_after_days IS NULL OR release_after_days >= 0", name="days_non_negative"
        ),
    )

    section_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course_sections.id", ondelete="CASCADE")
    )
    # The section's course, repeated so course-wide reads need no join.
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), unique=True
    )
    quiz_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("quizzes.id", ondelete="CASCADE"), unique=True
    )
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), unique=True
    )
    lti_link_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), unique=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Only required items count towards completing the course and as `next_item`.
    is_required: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def target_id(self) -> uuid.UUID:
        column, _table = ITEM_TARGET_COLUMNS[ItemKind(self.kind)]
        value: uuid.UUID = getattr(self, column)
        return value


class ReleasePrerequisite(UUIDPrimaryKey, Base):
    """What must be completed before a section or an item opens: another item (optionally
    graded at least `min_score_percent`) or a whole section (every required item of it)."""

    __tablename__ = "release_prerequisites"
    __table_args__ = (
        CheckConstraint("(section_id IS NULL) <> (item_id IS NULL)", name="one_dependent"),
        CheckConstraint(
            "(required_section_id IS NULL) <> (required_item_id IS NULL)", name="one_required"
        ),
        CheckConstraint(
            "min_score_percent IS NULL OR (min_score_percent >= 0 AND min_score_percent <= 100)",
            name="min_score_range",
        ),
        Index("ix_release_prerequisites_course_id", "course_id"),
        Index("ix_release_prerequisites_section_id", "section_id"),
        Index("ix_release_prerequisites_item_id", "item_id"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    section_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("course_sections.id", ondelete="CASCADE")
    )
    item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("section_items.id", ondelete="CASCADE")
    )
    required_section_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("course_sections.id", ondelete="CASCADE")
    )
    required_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("section_items.id", ondelete="CASCADE")
    )
    min_score_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
