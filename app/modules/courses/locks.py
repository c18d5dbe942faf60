"""Open or locked, with the reasons, for a student: the guard of every path that serves an
item's content (`require_open`, 403 `item_locked`) and the read of a whole course's states
(`course_states`, the outline and the lists). Both evaluate the release rule's expressions
(`release.py`); nothing here restates it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import FromClause, RowMapping, Select, bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session, aliased, join

from app.core.database import UTCDateTime, utcnow
from app.core.errors import NotFound, PermissionDenied
from app.modules.courses.access import Capability, manages_course
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    CourseSection,
    ItemKind,
    ReleasePrerequisite,
    SectionItem,
    target_table,
)
from app.modules.courses.release import (
    built_from_rule,
    completions,
    learner_start,
    rule,
    satisfied,
)
from app.modules.courses.sections_schemas import LockReasonRead, MissingRead
from app.modules.users.models import User


@dataclass(frozen=True)
class Requirement:
    """A prerequisite that is not met yet."""

    item_id: uuid.UUID | None
    section_id: uuid.UUID | None
    min_score_percent: Decimal | None


@dataclass
class ItemState:
    """`open`, or `locked` with its reasons: `not_yet_available` (with `unlock_at`),
    `closed`, `prerequisite` (with `missing`)."""

    item_id: uuid.UUID
    published: bool
    reasons: list[str] = field(default_factory=list)
    unlock_at: datetime | None = None
    missing: list[Requirement] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.published and not self.reasons

    def reason_reads(self) -> list[LockReasonRead]:
        """The reasons as the API words them, in the outline and in the locked answer (built
        from the typed values: validating them again would cost more than the rest of a
        locked item)."""
        missing = [
            MissingRead.model_construct(
                item_id=need.item_id,
                section_id=need.section_id,
                min_score_percent=need.min_score_percent,
            )
            for need in self.missing
        ]
        return [
            LockReasonRead.model_construct(
                reason=reason,
                unlock_at=self.unlock_at if reason == NOT_YET else None,
                missing=missing if reason == PREREQUISITE else None,
            )
            for reason in self.reasons
        ]

    def problem(self) -> dict[str, Any]:
        """The locked answer's extra members: the reasons as the outline shows them (no null
        members), and the unlock date."""
        reasons = [read.model_dump(mode="json", exclude_none=True) for read in self.reason_reads()]
        unlock_at = next((r["unlock_at"] for r in reasons if "unlock_at" in r), None)
        return {"reasons": reasons, "unlock_at": unlock_at}


NOT_YET, CLOSED, PREREQUISITE = "not_yet_available", "closed", "prerequisite"


class ItemLocked(PermissionDenied):
    code, title = "item_locked", "Item locked"


def _decide(row: RowMapping) -> ItemState:
    state = ItemState(item_id=row["item_id"], published=bool(row["published"]))
    if row["not_yet"]:
        state.reasons.append(NOT_YET)
        dates = [moment for moment in (row["item_opens_at"], row["section_opens_at"]) if moment]
        state.unlock_at = max(dates) if dates else None
    if row["closed"]:
        state.reasons.append(CLOSED)
    if row["waiting"]:
        state.reasons.append(PREREQUISITE)
    return state


UnmetSelect = Select[Any, Any, Any, Any, Any]


def _unmet(done: FromClause, where: Any) -> UnmetSelect:
    """The unmet prerequisites matching `where`, with their dependent (section or item)."""
    prerequisite = aliased(ReleasePrerequisite)
    return select(
        prerequisite.section_id,
        prerequisite.item_id,
        prerequisite.required_item_id,
        prerequisite.required_section_id,
        prerequisite.min_score_percent,
    ).where(where(prerequisite), ~satisfied(prerequisite, done))


def _requirements(rows: Iterable[Any]) -> list[tuple[Any, Requirement]]:
    return [
        (
            row.item_id or row.section_id,
            Requirement(row.required_item_id, row.required_section_id, row.min_score_percent),
        )
        for row in rows
    ]


@built_from_rule
def _course_statements() -> tuple[Select[Any], UnmetSelect]:
    """The outline's two statements (items with their target's title and publication and their
    state; unmet prerequisites), built once: the rule is many expressions, and building them
    again for each request cost more than running them. `course_id`, `student_id` and `now`
    are bound at execution."""
    course = bindparam("course_id", type_=SectionItem.id.type)
    student = bindparam("student_id", type_=SectionItem.id.type)
    at = bindparam("now", type_=UTCDateTime())
    done = completions(student, course_id=course).cte("done")
    item, section = aliased(SectionItem), aliased(CourseSection)
    # The learner's start is read once, not once per item and date condition.
    start = select(learner_start(course, student).label("at")).cte("start")
    unmet = _unmet(done, lambda p: p.course_id == course)
    columns = rule(
        item,
        section,
        student_id=student,
        now=at,
        done=done,
        anchor=start.c.at,
        unmet=unmet.cte("unmet"),
    )
    progress = (
        select(
            done.c.item_id,
            func.max(case((done.c.completed.is_(True), 1), else_=0)).label("completed"),
            func.max(case((done.c.started.is_(True), 1), else_=0)).label("started"),
            func.max(done.c.percent).label("percent"),
        )
        .group_by(done.c.item_id)
        .subquery()
    )
    source = (
        join(item, section, section.id == item.section_id)
        .join(start, true())
        .outerjoin(progress, progress.c.item_id == item.id)
    )
    titles, published = [], []
    for kind, (column, _table) in ITEM_TARGET_COLUMNS.items():
        target = target_table(kind).alias(f"target_{kind.value}")
        source = source.outerjoin(target, target.c.id == getattr(item, column))
        titles.append(target.c.title)
        published.append(target.c.is_published)
    target_published = func.coalesce(*published, False)
    items = (
        # Columns, not entities: loading 2 ORM objects per item cost more than the statement.
        select(
            item.id.label("item_id"),
            item.kind,
            func.coalesce(
                *(getattr(item, name) for name, _table in ITEM_TARGET_COLUMNS.values())
            ).label("target_id"),
            item.is_required,
            func.coalesce(*titles).label("title"),
            target_published.label("target_published"),
            section.id.label("section_id"),
            section.title.label("section_title"),
            section.description.label("section_description"),
            *columns.labeled(),
            func.coalesce(progress.c.completed, 0).label("completed"),
            func.coalesce(progress.c.started, 0).label("started"),
            progress.c.percent,
        )
        .select_from(source)
        .where(item.course_id == course)
        .order_by(section.position, section.created_at, item.position, item.created_at)
    )
    return items, unmet


def course_states(
    db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID, now: datetime
) -> tuple[Sequence[RowMapping], dict[uuid.UUID, ItemState]]:
    """Every item of the course (its columns and its section's) with its completion and state
    for the student, in order: one statement for the items (completion computed once, as a
    CTE) and one for the unmet prerequisites, whatever the number of items."""
    items, unmet = _course_statements()
    params = {"course_id": course_id, "student_id": student_id, "now": now}
    rows = db.execute(items, params).mappings().all()
    states = {row["item_id"]: _decide(row) for row in rows}
    if any(PREREQUISITE in state.reasons for state in states.values()):
        by_dependent: dict[Any, list[Requirement]] = {}
        for dependent, need in _requirements(db.execute(unmet, params)):
            by_dependent.setdefault(dependent, []).append(need)
        for row in rows:
            state = states[row["item_id"]]
            if PREREQUISITE in state.reasons:
                state.missing = [
                    *by_dependent.get(row["section_id"], []),
                    *by_dependent.get(row["item_id"], []),
                ]
    return rows, states


def locked_targets(
    db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID, kind: ItemKind
) -> set[uuid.UUID]:
    """The course's `kind` targets that are locked for the student (for lists)."""
    rows, states = course_states(db, course_id=course_id, student_id=student_id, now=utcnow())
    return {
        row["target_id"]
        for row in rows
        if row["kind"] == kind.value and not states[row["item_id"]].is_open
    }


def item_state(
    db: Session, *, item: SectionItem, student_id: uuid.UUID, now: datetime | None = None
) -> ItemState:
    """Open or locked, with the reasons, for one item and one student."""
    now = now or utcnow()
    student = bindparam("student_id", student_id, type_=SectionItem.id.type)
    at = bindparam("now", now, type_=UTCDateTime())
    done = completions(student).subquery()
    alias, section = aliased(SectionItem), aliased(CourseSection)
    columns = rule(alias, section, student_id=student, now=at, done=done)
    row = (
        db.execute(
            select(alias.id.label("item_id"), *columns.labeled())
            .join(section, section.id == alias.section_id)
            .where(alias.id == item.id)
        )
        .mappings()
        .one()
    )
    state = _decide(row)
    if PREREQUISITE in state.reasons:
        unmet = _unmet(done, lambda p: or_(p.item_id == item.id, p.section_id == item.section_id))
        state.missing = [need for _dependent, need in _requirements(db.execute(unmet))]
    return state


def item_of(db: Session, kind: ItemKind, target_id: uuid.UUID) -> SectionItem | None:
    column, _table = ITEM_TARGET_COLUMNS[kind]
    return db.scalars(
        select(SectionItem).where(getattr(SectionItem, column) == target_id)
    ).one_or_none()


def require_open(
    db: Session,
    *,
    user: User,
    kind: ItemKind,
    target_id: uuid.UUID,
    preview: bool = False,
) -> None:
    """The guard of every path that serves an item's content: ItemLocked (403, with the
    reasons and the unlock date) unless it is open for `user`; an item of an unpublished
    section is not found. Course managers, admins and previews pass."""
    if preview:
        return
    item = item_of(db, kind, target_id)
    if item is None or manages_course(
        db, course_id=item.course_id, user=user, capability=Capability.READ
    ):
        return
    state = item_state(db, item=item, student_id=user.id, now=utcnow())
    if not state.published:
        raise NotFound(f"{kind.value.capitalize()} not found", code=f"{kind.value}_not_found")
    if not state.is_open:
        raise ItemLocked(
            f"This {kind.value} is locked: {', '.join(state.reasons)}", extra=state.problem()
        )
