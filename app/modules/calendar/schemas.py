"""Calendar schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class EventKind(StrEnum):
    ASSIGNMENT_DUE = "assignment_due"
    ASSIGNMENT_LOCK = "assignment_lock"
    QUIZ_DUE = "quiz_due"
    QUIZ_LOCK = "quiz_lock"
    COURSE_RELEASE = "course_release"
    SECTION_RELEASE = "section_release"
    LESSON_RELEASE = "lesson_release"
    QUIZ_RELEASE = "quiz_release"
    ASSIGNMENT_RELEASE = "assignment_release"
    LTI_RELEASE = "lti_release"


class CalendarEvent(BaseModel):
    # Stable across reads: the same item's same date always has the same uid.
    uid: str
    kind: EventKind
    item_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    title: str
    # UTC; for a student, their extension applied.
    starts_at: datetime
    url: str


class FeedTokenRead(BaseModel):
    # Shown once: only a hash is stored. Requesting a new one kills this URL.
    url: str
    token: str
    created_at: datetime
