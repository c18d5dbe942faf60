"""Request and response bodies of course discussions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Self

from pydantic import BaseModel, Field, model_validator

from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel
from app.modules.discussions.models import ItemType, ThreadKind

# The schema's bound; DISCUSSION_POST_MAX_CHARS (at most this) is the setting enforced.
BODY_HARD_LIMIT = 200000


class ThreadCreate(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=BODY_HARD_LIMIT, description="Markdown")
    kind: ThreadKind = ThreadKind.DISCUSSION
    item_type: ItemType | None = Field(
        default=None, description="Attach to a lesson, quiz or assignment of the course"
    )
    item_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _item_pair(self) -> Self:
        if (self.item_type is None) != (self.item_id is None):
            raise ValueError("item_type and item_id go together")
        return self


class ThreadModeration(PartialUpdate):
    """What a course's managers change on a thread: pin, lock, mark the answer."""

    nullable: ClassVar[frozenset[str]] = frozenset({"answer_post_id"})

    is_pinned: bool | None = None
    is_locked: bool | None = None
    answer_post_id: uuid.UUID | None = Field(
        default=None, description="A visible post of the thread; null clears it"
    )


class ThreadRead(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    author_id: uuid.UUID | None
    kind: ThreadKind
    title: str
    item_type: ItemType | None
    item_id: uuid.UUID | None
    is_pinned: bool
    is_locked: bool
    answer_post_id: uuid.UUID | None
    answered: bool = Field(description="A question thread with a post marked as the answer")
    last_post_at: datetime
    created_at: datetime


class PostCreate(RequestModel):
    body: str = Field(min_length=1, max_length=BODY_HARD_LIMIT, description="Markdown")


class PostUpdate(PartialUpdate):
    """`body`: the post's author; `is_hidden`: the course's managers."""

    body: str | None = Field(default=None, min_length=1, max_length=BODY_HARD_LIMIT)
    is_hidden: bool | None = None


class PostRead(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    body_html: str = Field(description="The body rendered to sanitized HTML")
    is_hidden: bool
    is_answer: bool
    edited_at: datetime | None
    created_at: datetime


class Following(BaseModel):
    following: bool
