"""The learner's outline of a course: sections and items in order with each item's state,
progress per section and overall, and the next item to work on; for a course manager, the
structure with how many students completed each item.

A constant number of statements whatever the number of items: completion is read once (one
CTE over each kind's rows) and the release rule evaluated over it (`locks.course_states`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import PermissionDenied
from app.modules.courses import next_item
from app.modules.courses import sections_repository as repository
from app.modules.courses.access import course_access
from app.modules.courses.locks import ItemState, course_states, row_target
from app.modules.courses.models import ItemKind
from app.modules.courses.sections_schemas import (
    LockReasonRead,
    Outline,
    OutlineItem,
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


def _student_outline(db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID) -> Outline:
    now = utcnow()
    rows, states = course_states(db, course_id=course_id, student_id=student_id, now=now)
    targets = repository.targets_of_course(db, course_id)
    sections: dict[uuid.UUID, OutlineSection] = {}
    done_by_section: dict[uuid.UUID, int] = {}
    for row in rows:
        kind, target_id = ItemKind(row.kind), row_target(row)
        target = targets[(kind, target_id)]
        if not (row.published and target.is_published):
            continue
        entry = sections.get(row.section_id) or sections.setdefault(
            row.section_id,
            _section(row.section_id, row.section_title, row.section_description, True),
        )
        state = states[row.item_id]
        label = _state(state, completed=bool(row.completed), started=bool(row.started))
        entry.items.append(
            OutlineItem(
                item_id=row.item_id,
                kind=kind,
                id=target_id,
                title=target.title,
                is_required=row.is_required,
                state=label,
                reasons=[LockReasonRead.model_validate(r) for r in state.problem()["reasons"]]
                if label == LOCKED
                else [],
                unlock_at=state.unlock_at if label == LOCKED else None,
            )
        )
        if row.is_required:
            entry.required_count += 1
            done_by_section[row.section_id] = done_by_section.get(row.section_id, 0) + (
                label == COMPLETED
            )
    for section_id, entry in sections.items():
        entry.completed_count = done_by_section.get(section_id, 0)
        entry.progress_percentage = _percentage(entry.completed_count, entry.required_count)
    required = sum(entry.required_count for entry in sections.values())
    completed = sum(done_by_section.values())
    return Outline(
        course_id=course_id,
        sections=list(sections.values()),
        progress_percentage=_percentage(completed, required),
        next_item=next_item.of_course(db, course_id=course_id, student_id=student_id, now=now),
    )


def _section(
    section_id: uuid.UUID, title: str, description: str | None, is_published: bool
) -> OutlineSection:
    return OutlineSection(
        id=section_id,
        title=title,
        description=description,
        is_published=is_published,
        items=[],
        required_count=0,
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
