"""The learner's outline of a course: sections and items in order with each item's state,
progress per section and overall, and the next item to work on; for a course manager, the
structure with how many students completed each item.

A constant number of statements whatever the number of items: completion is read once (one
CTE over each kind's rows) and the release rule evaluated over it (`locks.course_states`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import PermissionDenied
from app.modules.courses import sections_repository as repository
from app.modules.courses.access import course_access
from app.modules.courses.locks import ItemState, course_states
from app.modules.courses.models import ItemKind
from app.modules.courses.sections_schemas import (
    LockReasonRead,
    Outline,
    OutlineItem,
    OutlineNext,
    OutlineSection,
)
from app.modules.users.models import User

LOCKED, OPEN, IN_PROGRESS, COMPLETED = "locked", "open", "in_progress", "completed"


def _percentage(done: int, total: int) -> Decimal:
    if total == 0:
        return Decimal("0.00")
    return (Decimal(done * 100) / Decimal(total)).quantize(Decimal("0.01"))


def _state(state: ItemState, *, completed: bool, started: bool) -> str:
    # A completed item stays completed even once its window has closed.
    if completed:
        return COMPLETED
    if not state.is_open:
        return LOCKED
    return IN_PROGRESS if started else OPEN


def get_outline(db: Session, *, course_id: uuid.UUID, user: User) -> Outline:
    """The outline for an enrolled student, or the structure with completion counts for a
    course manager; anyone else is refused."""
    access = course_access(db, course_id=course_id, user=user)
    if access.manager:
        return _manager_outline(db, course_id=access.course.id)
    if not access.enrolled:
        raise PermissionDenied("Enroll in the course to see its outline", code="not_enrolled")
    return _student_outline(db, course_id=access.course.id, student_id=user.id)


def _reasons(
    state: ItemState, known: dict[tuple[Any, ...], list[LockReasonRead]]
) -> list[LockReasonRead]:
    """`ItemState.reason_reads()`; items locked for the same reasons share one answer."""
    key = (tuple(state.reasons), state.unlock_at, tuple(state.missing))
    found = known.get(key)
    if found is None:
        found = known[key] = state.reason_reads()
    return found


_KINDS = {kind.value: kind for kind in ItemKind}


def _student_outline(db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID) -> Outline:
    rows, states = course_states(db, course_id=course_id, student_id=student_id, now=utcnow())
    sections: dict[uuid.UUID, OutlineSection] = {}
    known: dict[tuple[Any, ...], list[LockReasonRead]] = {}
    upcoming: OutlineNext | None = None
    entry: OutlineSection | None = None
    for row in rows:
        if not (row["published"] and row["target_published"]):
            continue
        # Rows come section by section.
        if entry is None or entry.id != row["section_id"]:
            entry = sections.setdefault(
                row["section_id"],
                _section(
                    row["section_id"], row["section_title"], row["section_description"], True, 0
                ),
            )
        kind, required = _KINDS[row["kind"]], bool(row["is_required"])
        state = states[row["item_id"]]
        label = _state(state, completed=bool(row["completed"]), started=bool(row["started"]))
        locked = label == LOCKED
        # Built from typed columns without validating each field again (300 items cost
        # milliseconds to validate); serialization is the same.
        entry.items.append(
            OutlineItem.model_construct(
                item_id=row["item_id"],
                kind=kind,
                id=row["target_id"],
                title=row["title"],
                is_required=required,
                state=label,
                reasons=_reasons(state, known) if locked else [],
                unlock_at=state.unlock_at if locked else None,
                completed_count=None,
            )
        )
        if not required:
            continue
        # The first open, not completed, required item (my-courses reads the same item with
        # `next_item.next_item_id`; the required-items tests hold the two to one answer).
        if upcoming is None and label in (OPEN, IN_PROGRESS):
            upcoming = OutlineNext(
                item_id=row["item_id"], kind=kind, id=row["target_id"], title=row["title"]
            )
        entry.required_count += 1
        entry.completed_count = (entry.completed_count or 0) + (label == COMPLETED)
    required_count = completed = 0
    for entry in sections.values():
        entry.progress_percentage = _percentage(entry.completed_count or 0, entry.required_count)
        required_count += entry.required_count
        completed += entry.completed_count or 0
    return Outline(
        course_id=course_id,
        sections=list(sections.values()),
        progress_percentage=_percentage(completed, required_count),
        next_item=upcoming,
    )


def _section(
    section_id: uuid.UUID,
    title: str,
    description: str | None,
    is_published: bool,
    completed_count: int | None = None,
) -> OutlineSection:
    return OutlineSection(
        id=section_id,
        title=title,
        description=description,
        is_published=is_published,
        items=[],
        required_count=0,
        completed_count=completed_count,
    )


def _manager_outline(db: Session, *, course_id: uuid.UUID) -> Outline:
    targets = repository.targets_of_course(db, course_id)
    counts = repository.completed_counts(db, course_id)
    sections = {
        section.id: _section(section.id, section.title, section.description, section.is_published)
        for section in repository.sections_of_course(db, course_id)
    }
    for item in repository.items_of_course(db, course_id):
        target = targets[(ItemKind(item.kind), item.target_id)]
        entry = sections[item.section_id]
        entry.items.append(
            OutlineItem(
                item_id=item.id,
                kind=ItemKind(item.kind),
                id=item.target_id,
                title=target.title,
                is_required=item.is_required,
                completed_count=counts.get(item.id, 0),
            )
        )
        entry.required_count += int(item.is_required)
    return Outline(
        course_id=course_id,
        sections=list(sections.values()),
        enrolled_students=repository.enrolled_count(db, course_id),
    )
