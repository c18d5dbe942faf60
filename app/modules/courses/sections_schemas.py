"""Request and response bodies for sections, their items, release rules and the outline."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, model_validator

from app.core.latework import UtcDatetime as UtcMoment
from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel
from app.modules.courses.models import ItemKind
from app.modules.courses.schemas import Title

Days = Annotated[int, Field(ge=0, le=3650, description="Days after the learner's start")]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class PrerequisiteIn(RequestModel):
    """Another item (by its kind and the lesson, quiz, assignment or LTI link id), optionally
    graded at least `min_score_percent`, or a whole section (`section_id`): completed first."""

    kind: ItemKind | None = None
    id: uuid.UUID | None = Field(
        default=None, description="The lesson, quiz, assignment or LTI link id"
    )
    section_id: uuid.UUID | None = None
    min_score_percent: Percent | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        item = self.kind is not None and self.id is not None
        if (self.kind is None) != (self.id is None) or item == (self.section_id is not None):
            raise ValueError("name either an item (kind and id) or a section (section_id)")
        if self.section_id is not None and self.min_score_percent is not None:
            raise ValueError("min_score_percent applies to an item only")
        return self


class ReleaseIn(RequestModel):
    available_from: UtcMoment | None = None
    available_until: UtcMoment | None = None
    release_after_days: Days | None = None
    prerequisites: list[PrerequisiteIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if (
            self.available_from
            and self.available_until
            and self.available_until <= self.available_from
        ):
            raise ValueError("available_until must be after available_from")
        return self


class SectionCreate(ReleaseIn):
    title: Title
    description: str | None = Field(default=None, max_length=20_000)
    is_published: bool = False


class SectionUpdate(PartialUpdate):
    """Every field optional; `prerequisites`, when sent, replaces the section's list."""

    nullable = frozenset({"description", "available_from", "available_until", "release_after_days"})

    title: Title | None = None
    description: str | None = Field(default=None, max_length=20_000)
    is_published: bool | None = None
    available_from: UtcMoment | None = None
    available_until: UtcMoment | None = None
    release_after_days: Days | None = None
    prerequisites: list[PrerequisiteIn] | None = Field(default=None, max_length=50)


class ItemIn(ReleaseIn):
    kind: ItemKind
    id: uuid.UUID = Field(description="The lesson, quiz, assignment or LTI link id")
    is_required: bool = True


class SectionItems(RequestModel):
    """The section's items in order; an item listed here moves from any other section. Every
    item of the section must be listed (`item_left_out` otherwise): content moves between
    sections, it never drops out of the structure."""

    items: list[ItemIn] = Field(max_length=500)


class SectionOrder(RequestModel):
    section_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class PrerequisiteRead(BaseModel):
    kind: ItemKind | None
    id: uuid.UUID | None
    section_id: uuid.UUID | None
    min_score_percent: Decimal | None


class ReleaseRead(BaseModel):
    available_from: datetime | None
    available_until: datetime | None
    release_after_days: int | None
    prerequisites: list[PrerequisiteRead]


class ItemRead(ReleaseRead):
    item_id: uuid.UUID
    kind: ItemKind
    id: uuid.UUID
    title: str
    is_published: bool
    is_required: bool
    position: int


class SectionRead(ReleaseRead):
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    description: str | None
    position: int
    is_published: bool
    items: list[ItemRead]


# --- the outline ---------------------------------------------------------------------------


class MissingRead(BaseModel):
    item_id: uuid.UUID | None
    section_id: uuid.UUID | None
    min_score_percent: Decimal | None


class LockReasonRead(BaseModel):
    reason: str = Field(description="not_yet_available, closed or prerequisite")
    unlock_at: datetime | None = None
    missing: list[MissingRead] | None = None


class OutlineItem(BaseModel):
    item_id: uuid.UUID
    kind: ItemKind
    id: uuid.UUID
    title: str
    is_required: bool
    state: str | None = Field(
        default=None, description="locked, open, in_progress or completed (students)"
    )
    reasons: list[LockReasonRead] = Field(default_factory=list)
    unlock_at: datetime | None = None
    completed_count: int | None = Field(
        default=None, description="Students who completed the item (course managers)"
    )


class OutlineSection(BaseModel):
    id: uuid.UUID
    title: str
    description: str | None
    is_published: bool
    items: list[OutlineItem]
    required_count: int
    completed_count: int | None = None
    progress_percentage: Decimal | None = None


class OutlineNext(BaseModel):
    """The learner's next item: the first open, not completed, required item."""

    item_id: uuid.UUID
    kind: ItemKind
    id: uuid.UUID
    title: str

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> OutlineNext:
        """From the `next_item_*` columns of `courses.next_item.joined`."""
        return cls(
            item_id=row["next_item_id"],
            kind=row["next_item_kind"],
            id=row["next_item_target_id"],
            title=row["next_item_title"],
        )


class Outline(BaseModel):
    course_id: uuid.UUID
    sections: list[OutlineSection]
    progress_percentage: Decimal | None = None
    next_item: OutlineNext | None = None
    enrolled_students: int | None = None
