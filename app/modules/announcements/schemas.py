"""Request and response bodies of course announcements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel

BODY_MAX_CHARS = 20000


class AnnouncementCreate(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=BODY_MAX_CHARS, description="Markdown")
    cohort_id: uuid.UUID | None = Field(
        default=None, description="Address one cohort of the course (default: every student)"
    )
    publish_at: AwareDatetime | None = Field(
        default=None, description="Publish later (default: now)"
    )


class AnnouncementUpdate(PartialUpdate):
    """Title and body can change at any time (without notifying again); the audience and the
    schedule only before publishing."""

    nullable: ClassVar[frozenset[str]] = frozenset({"cohort_id", "publish_at"})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=BODY_MAX_CHARS)
    cohort_id: uuid.UUID | None = None
    publish_at: AwareDatetime | None = None


class AnnouncementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID
    author_id: uuid.UUID | None
    cohort_id: uuid.UUID | None
    title: str
    body: str = Field(description="The Markdown as written")
    body_html: str = Field(description="The body rendered to sanitized HTML")
    publish_at: datetime | None
    published_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
