"""What modules built on courses react to: a course's counted lessons changing (published,
unpublished, added, removed, or made optional or required in a section)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

LessonsChanged = Callable[[Session, uuid.UUID], None]
_lessons_changed_listeners: list[LessonsChanged] = []


def on_published_lessons_changed(listener: LessonsChanged) -> None:
    """Call `listener(db, course_id)` in the transaction that changes a course's counted
    lessons (the enrollments module refreshes every enrollment's totals)."""
    if listener not in _lessons_changed_listeners:
        _lessons_changed_listeners.append(listener)


def lessons_changed(db: Session, course_id: uuid.UUID) -> None:
    for listener in _lessons_changed_listeners:
        listener(db, course_id)
