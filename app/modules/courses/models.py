"""The `courses` and `lessons` tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, Timestamps, UUIDPrimaryKey


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
