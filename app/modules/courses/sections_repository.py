"""Queries for sections, their items and release prerequisites.

A section item's target (a lesson, quiz, assignment or LTI link) lives in the table its kind
names in `ITEM_TARGET_COLUMNS`; every such table has `id`, `course_id`, `title` and
`is_published`, so these queries read it through the shared metadata without importing the
module that owns it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from app.modules.courses.models import (
    ENROLLED_STATUSES,
    ITEM_TARGET_COLUMNS,
    CourseSection,
    Enrollment,
    ItemKind,
    ReleasePrerequisite,
    SectionItem,
    target_table,
)
from app.modules.courses.release import completions
from app.modules.courses.repository import rewrite_positions


@dataclass(frozen=True)
class Target:
    title: str
    is_published: bool


def targets_of_course(
    db: Session, course_id: uuid.UUID
) -> dict[tuple[ItemKind, uuid.UUID], Target]:
    """Every target of the course (one statement per kind)."""
    found: dict[tuple[ItemKind, uuid.UUID], Target] = {}
    for kind in ITEM_TARGET_COLUMNS:
        table = target_table(kind)
        rows = db.execute(
            select(table.c.id, table.c.title, table.c.is_published).where(
                table.c.course_id == course_id
            )
        ).all()
        for row in rows:
            found[(kind, row.id)] = Target(title=row.title, is_published=bool(row.is_published))
    return found


def targets_in_course(
    db: Session, course_id: uuid.UUID, kind: ItemKind, ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Of `ids`, those that are `kind` targets of the course."""
    if not ids:
        return set()
    table = target_table(kind)
    return set(
        db.scalars(
            select(table.c.id).where(table.c.id.in_(list(ids)), table.c.course_id == course_id)
        )
    )


def get_section(
    db: Session, section_id: uuid.UUID, *, for_update: bool = False
) -> CourseSection | None:
    if not for_update:
        return db.get(CourseSection, section_id)
    return db.scalars(
        select(CourseSection)
        .where(CourseSection.id == section_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_item(db: Session, item_id: uuid.UUID) -> SectionItem | None:
    return db.get(SectionItem, item_id)


def sections_of_course(db: Session, course_id: uuid.UUID) -> list[CourseSection]:
    return list(
        db.scalars(
            select(CourseSection)
            .where(CourseSection.course_id == course_id)
            .order_by(CourseSection.position, CourseSection.created_at, CourseSection.id)
        )
    )


def published_item_exists(db: Session, course_id: uuid.UUID) -> bool:
    clauses = []
    for kind, (column, _reference) in ITEM_TARGET_COLUMNS.items():
        table = target_table(kind)
        clauses.append(
            exists().where(
                SectionItem.course_id == course_id,
                CourseSection.id == SectionItem.section_id,
                CourseSection.is_published.is_(True),
                table.c.id == getattr(SectionItem, column),
                table.c.is_published.is_(True),
            )
        )
    return bool(db.scalar(select(or_(*clauses))))


def items_of_course(db: Session, course_id: uuid.UUID) -> list[SectionItem]:
    return list(
        db.scalars(
            select(SectionItem)
            .where(SectionItem.course_id == course_id)
            .order_by(SectionItem.position, SectionItem.created_at, SectionItem.id)
        )
    )


def items_by_target(
    db: Session, course_id: uuid.UUID, kind: ItemKind, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, SectionItem]:
    if not ids:
        return {}
    column = getattr(SectionItem, ITEM_TARGET_COLUMNS[kind][0])
    rows = db.scalars(
        select(SectionItem).where(SectionItem.course_id == course_id, column.in_(list(ids)))
    )
    return {row.target_id: row for row in rows}


def next_section_position(db: Session, course_id: uuid.UUID) -> int:
    current = db.scalar(
        select(func.max(CourseSection.position)).where(CourseSection.course_id == course_id)
    )
    return 0 if current is None else int(current) + 1


def next_item_position(db: Session, section_id: uuid.UUID) -> int:
    current = db.scalar(
        select(func.max(SectionItem.position)).where(SectionItem.section_id == section_id)
    )
    return 0 if current is None else int(current) + 1


def last_section(db: Session, course_id: uuid.UUID) -> CourseSection | None:
    return db.scalars(
        select(CourseSection)
        .where(CourseSection.course_id == course_id)
        .order_by(CourseSection.position.desc(), CourseSection.created_at.desc())
        .limit(1)
    ).first()


def set_section_order(db: Session, course_id: uuid.UUID, ordered: Sequence[uuid.UUID]) -> None:
    rewrite_positions(db, CourseSection.position, CourseSection.course_id == course_id, ordered)


def set_item_order(db: Session, section_id: uuid.UUID, ordered: Sequence[uuid.UUID]) -> None:
    rewrite_positions(db, SectionItem.position, SectionItem.section_id == section_id, ordered)


def prerequisites_of_course(db: Session, course_id: uuid.UUID) -> list[ReleasePrerequisite]:
    return list(
        db.scalars(select(ReleasePrerequisite).where(ReleasePrerequisite.course_id == course_id))
    )


def replace_prerequisites(
    db: Session,
    *,
    course_id: uuid.UUID,
    section_id: uuid.UUID | None = None,
    item_id: uuid.UUID | None = None,
    rows: Sequence[dict[str, Any]],
) -> None:
    dependent = (
        ReleasePrerequisite.section_id == section_id
        if section_id is not None
        else ReleasePrerequisite.item_id == item_id
    )
    db.execute(
        delete(ReleasePrerequisite).where(dependent).execution_options(synchronize_session="fetch")
    )
    for row in rows:
        db.add(
            ReleasePrerequisite(course_id=course_id, section_id=section_id, item_id=item_id, **row)
        )
    db.flush()


def completed_counts(db: Session, course_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """How many students completed each item of the course (one statement)."""
    done = completions(None, course_id=course_id).subquery()
    rows = db.execute(
        select(done.c.item_id, func.count(func.distinct(done.c.student_id)))
        .where(done.c.completed.is_(True))
        .group_by(done.c.item_id)
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def enrolled_count(db: Session, course_id: uuid.UUID) -> int:
    return int(
        db.scalar(
            select(func.count(Enrollment.id)).where(
                Enrollment.course_id == course_id, Enrollment.status.in_(ENROLLED_STATUSES)
            )
        )
        or 0
    )
