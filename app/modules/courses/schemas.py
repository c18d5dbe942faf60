"""Request and response bodies for courses and lessons."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.core.config import get_settings
from app.core.decimals import DecimalString, two_places
from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel
from app.modules.courses.models import DifficultyLevel, LessonType

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# Two decimal places from the start, as stored: "0.00" on create as after a reload.
Price = Annotated[
    Decimal,
    DecimalString(whole_digits=8),
    AfterValidator(two_places),
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CourseSort(StrEnum):
    NEWEST = "newest"
    TITLE = "title"
    POPULARITY = "popularity"
    RATING = "rating"


class CourseCreate(RequestModel):
    title: Title
    description: str | None = Field(default=None, max_length=20_000)
    category: str | None = Field(default=None, max_length=100)
    difficulty_level: DifficultyLevel | None = None
    thumbnail_url: Url | None = None
    estimated_duration_minutes: int | None = Field(default=None, ge=0, le=100_000)
    price: Price = Decimal("0.00")
    currency: Currency = Field(default_factory=lambda: get_settings().DEFAULT_CURRENCY)
    metadata: dict[str, Any] | None = None


class CourseUpdate(PartialUpdate):
    """Every field optional; the slug is not editable so shared links keep working."""

    nullable = frozenset(
        {
            "description",
            "category",
            "difficulty_level",
            "thumbnail_url",
            "estimated_duration_minutes",
            "metadata",
        }
    )

    title: Title | None = None
    description: str | None = Field(default=None, max_length=20_000)
    category: str | None = Field(default=None, max_length=100)
    difficulty_level: DifficultyLevel | None = None
    thumbnail_url: Url | None = None
    estimated_duration_minutes: int | None = Field(default=None, ge=0, le=100_000)
    price: Price | None = None
    currency: Currency | None = None
    metadata: dict[str, Any] | None = None


class CourseRead(ORMModel):
    id: uuid.UUID
    title: str
    slug: str
    description: str | None
    instructor_id: uuid.UUID
    instructor_name: str
    category: str | None
    difficulty_level: str | None
    thumbnail_url: str | None
    estimated_duration_minutes: int | None
    price: Decimal
    currency: str
    is_free: bool
    is_published: bool
    published_at: datetime | None
    archived_at: datetime | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    lesson_count: int
    total_duration_minutes: int
    enrollment_count: int
    average_rating: float | None
    rating_count: int


class CourseSummary(ORMModel):
    """The course fields shown beside an enrollment."""

    id: uuid.UUID
    title: str
    slug: str
    instructor_id: uuid.UUID
    category: str | None
    difficulty_level: str | None
    thumbnail_url: str | None
    is_published: bool


class LessonCreate(RequestModel):
    title: Title
    lesson_type: LessonType = LessonType.TEXT
    content: str | None = Field(default=None, max_length=200_000)
    video_url: Url | None = None
    duration_minutes: int = Field(default=0, ge=0, le=10_000)
    is_preview: bool = False
    is_published: bool = False
    section_id: uuid.UUID | None = Field(
        default=None,
        description="The section to append it to (default: the course's last section)",
    )


class LessonUpdate(PartialUpdate):
    """Every field optional; position changes go through the reorder endpoint."""

    nullable = frozenset({"content", "video_url"})

    title: Title | None = None
    lesson_type: LessonType | None = None
    content: str | None = Field(default=None, max_length=200_000)
    video_url: Url | None = None
    duration_minutes: int | None = Field(default=None, ge=0, le=10_000)
    is_preview: bool | None = None
    is_published: bool | None = None


class LessonRead(ORMModel):
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    slug: str
    lesson_type: str
    duration_minutes: int
    order_index: int
    is_preview: bool
    is_published: bool
    # False when the viewer may only see the outline (not enrolled, not a preview lesson).
    content_available: bool
    content: str | None
    video_url: str | None
    created_at: datetime
    updated_at: datetime


class LessonOrder(RequestModel):
    lesson_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
