"""Who may open which item of a course: the one release rule, written once as SQL expressions.

An item (a lesson, quiz, assignment or LTI link in a section) is open for a student when its
section is published and neither the section nor the item is `not_yet_available` (before
`available_from`, or before `release_after_days` after the learner's start), `closed` (from
`available_until` on) or waiting on a `prerequisite` (an item or section not completed yet).
Content in no section has no rule and is open.

The same expressions serve the Python guard (`item_state`, `require_open`), the batch read of
a whole course (`course_states`, the outline) and the statements that must hold the rule
themselves (`target_open`, used by the progress heartbeat). Completion of each kind is the
kind module's rule, handed down with `register_completion`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Numeric,
    Select,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from app.core.database import UTCDateTime, utcnow
from app.core.errors import NotFound, PermissionDenied
from app.modules.courses.access import Capability, manages_course
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    Cohort,
    CohortMember,
    CourseSection,
    Enrollment,
    ItemKind,
    ReleasePrerequisite,
    SectionItem,
)
from app.modules.users.models import User

# --- completion, per kind ------------------------------------------------------------------

# A kind's completion rows: a SELECT of `student_id`, `target_id`, `started` (bool),
# `completed` (bool) and `percent` (the score in %, or null), for one student (the argument)
# or for all (None). Several rows per target are allowed: any completed row counts.
CompletionSelect = Select[Any, Any, Any, Any, Any]
CompletionRows = Callable[[ColumnElement[Any] | None], CompletionSelect]
_completion_rules: dict[ItemKind, CompletionRows] = {}


def register_completion(kind: ItemKind, rows: CompletionRows) -> None:
    """How `kind` is completed (the lessons, quizzes and assignments modules register theirs
    in their `reactions.py`)."""
    _completion_rules[kind] = rows
    _course_statements.cache_clear()


def completions(
    student_id: ColumnElement[Any] | None, *, course_id: Any | None = None
) -> Select[Any]:
    """Every section item's completion rows (`item_id`, `student_id`, `started`, `completed`,
    `percent`), over the registered kinds; only the items of `course_id` when given (each
    kind's rows are then read from that course's targets, not from every course's)."""
    parts = []
    for kind, rows_of in _completion_rules.items():
        rows = rows_of(student_id).subquery()
        item = aliased(SectionItem)
        column, _table = ITEM_TARGET_COLUMNS[kind]
        part = select(
            item.id.label("item_id"),
            rows.c.student_id,
            rows.c.started,
            rows.c.completed,
            rows.c.percent,
        ).join_from(item, rows, rows.c.target_id == getattr(item, column))
        parts.append(part if course_id is None else part.where(item.course_id == course_id))
    if not parts:
        # Constants, not bound values: a single statement sent as raw SQL must still type them.
        nothing: Any = select(
            cast(null(), SectionItem.id.type).label("item_id"),
            cast(null(), SectionItem.id.type).label("student_id"),
            false().label("started"),
            false().label("completed"),
            cast(null(), Numeric(5, 2)).label("percent"),
        ).where(false())
        return nothing
    return union_all(*parts) if len(parts) > 1 else parts[0]  # type: ignore[return-value]


# --- the learner's start and dates -----------------------------------------------------------


def learner_start(course_id: ColumnElement[Any], student_id: ColumnElement[Any]) -> Any:
    """The anchor of `release_after_days`: the start of the student's cohort in the course
    when it has one, else when the student enrolled."""
    cohort_start = (
        select(Cohort.starts_at)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(CohortMember.student_id == student_id, CohortMember.course_id == course_id)
        .scalar_subquery()
    )
    enrollment = aliased(Enrollment)
    enrolled_at = (
        select(enrollment.enrolled_at)
        .where(enrollment.student_id == student_id, enrollment.course_id == course_id)
        .scalar_subquery()
    )
    return func.coalesce(cohort_start, enrolled_at)


class plus_days(FunctionElement[datetime]):
    """`moment` + `days` days, on every backend."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(plus_days, "postgresql")
def _plus_days_postgresql(element: plus_days, compiler: Any, **kw: Any) -> str:
    moment, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({moment} + make_interval(days => {days}))"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element: plus_days, compiler: Any, **kw: Any) -> str:
    moment, days = (compiler.process(clause, **kw) for clause in element.clauses)
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': shift the date and time, keep the fraction.
    return f"(datetime({moment}, '+' || ({days}) || ' days') || substr({moment}, 20))"


# --- the rule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    """The date conditions of one section or item, as SQL."""

    opens_at: Any  # the later of available_from and the relative date (null: none)
    not_yet: ColumnElement[bool]
    closed: ColumnElement[bool]


def _window(row: Any, anchor: Any, now: Any) -> _Window:
    relative = case(
        (row.release_after_days.is_(None), null()),
        else_=plus_days(anchor, row.release_after_days),
    )
    not_yet = or_(
        and_(row.available_from.is_not(None), row.available_from > now),
        and_(
            row.release_after_days.is_not(None),
            or_(anchor.is_(None), plus_days(anchor, row.release_after_days) > now),
        ),
    )
    closed = and_(row.available_until.is_not(None), row.available_until <= now)
    opens_at = case(
        (row.available_from.is_(None), relative),
        (relative.is_(None), row.available_from),
        (relative > row.available_from, relative),
        else_=row.available_from,
    )
    return _Window(opens_at=opens_at, not_yet=not_yet, closed=closed)


def _item_completed(
    item_id: Any, done: FromClause, min_percent: Any | None = None
) -> ColumnElement[bool]:
    """Whether the item is completed, scoring at least `min_percent` (a column that may be
    NULL) when one is given."""
    conditions = [done.c.item_id == item_id, done.c.completed.is_(True)]
    if min_percent is not None:
        conditions.append(or_(min_percent.is_(None), done.c.percent >= min_percent))
    return exists().where(*conditions)


def satisfied(prerequisite: Any, done: FromClause) -> ColumnElement[bool]:
    """Whether one prerequisite row is met: its item completed (scoring at least its
    `min_score_percent` when set), or every required item of its section completed."""
    member = aliased(SectionItem)
    section_done = ~exists().where(
        member.section_id == prerequisite.required_section_id,
        member.is_required.is_(True),
        ~_item_completed(member.id, done),
    )
    return or_(
        and_(
            prerequisite.required_item_id.is_not(None),
            _item_completed(prerequisite.required_item_id, done, prerequisite.min_score_percent),
        ),
        and_(prerequisite.required_section_id.is_not(None), section_done),
    )


def _waiting(dependent: Any, dependent_id: Any, done: FromClause) -> ColumnElement[bool]:
    prerequisite = aliased(ReleasePrerequisite)
    return exists().where(dependent(prerequisite) == dependent_id, ~satisfied(prerequisite, done))


@dataclass(frozen=True)
class RuleColumns:
    """The rule's parts for one item (`item`) in its section (`section`): each a SQL
    expression, and `is_open` their conjunction."""

    published: ColumnElement[bool]
    item: _Window
    section: _Window
    item_waiting: ColumnElement[bool]
    section_waiting: ColumnElement[bool]

    @property
    def is_open(self) -> ColumnElement[bool]:
        return and_(
            self.published,
            ~self.item.not_yet,
            ~self.section.not_yet,
            ~self.item.closed,
            ~self.section.closed,
            ~self.item_waiting,
            ~self.section_waiting,
        )

    def labeled(self) -> list[Any]:
        return [
            self.published.label("published"),
            or_(self.item.not_yet, self.section.not_yet).label("not_yet"),
            or_(self.item.closed, self.section.closed).label("closed"),
            or_(self.item_waiting, self.section_waiting).label("waiting"),
            self.item.opens_at.label("item_opens_at"),
            self.section.opens_at.label("section_opens_at"),
        ]


def rule(
    item: Any,
    section: Any,
    *,
    student_id: Any,
    now: Any,
    done: FromClause,
    anchor: Any | None = None,
) -> RuleColumns:
    """The release rule for `item` (an alias of section_items) in `section` (its
    course_sections row), for `student_id` at `now`, with `done` the completion rows and
    `anchor` the learner's start in the course (`learner_start`, computed here if not given)."""
    if anchor is None:
        anchor = learner_start(section.course_id, student_id)
    return RuleColumns(
        published=section.is_published.is_(True),
        item=_window(item, anchor, now),
        section=_window(section, anchor, now),
        item_waiting=_waiting(lambda p: p.item_id, item.id, done),
        section_waiting=_waiting(lambda p: p.section_id, section.id, done),
    )


def target_open(
    kind: ItemKind, target_id: Any, *, student_id: Any, now: Any
) -> ColumnElement[bool]:
    """SQL: the target (a lesson, quiz, assignment or LTI link id) is open for the student, for
    statements that must hold the rule themselves (content in no section is open)."""
    column, _table = ITEM_TARGET_COLUMNS[kind]
    # CTEs: the item and its section are looked up by key once, and the completions and the
    # learner's start, which the rule reads in several places, are read once.
    placed = aliased(SectionItem)
    item = select(placed).where(getattr(placed, column) == target_id).cte(f"{kind.value}_item")
    section = (
        select(CourseSection)
        .where(CourseSection.id == select(item.c.section_id).scalar_subquery())
        .cte(f"{kind.value}_section")
    )
    start = select(learner_start(section.c.course_id, student_id).label("at")).cte(
        f"{kind.value}_start"
    )
    done = completions(student_id).cte(f"{kind.value}_done")
    columns = rule(item.c, section.c, student_id=student_id, now=now, done=done, anchor=start.c.at)
    return ~exists().select_from(item, section, start).where(~columns.is_open)


def visible_to_students(kind: ItemKind, target_id: Any) -> ColumnElement[bool]:
    """SQL: the target is not in an unpublished section (what lists show a student)."""
    item, section = aliased(SectionItem), aliased(CourseSection)
    column, _table = ITEM_TARGET_COLUMNS[kind]
    return ~exists().where(
        getattr(item, column) == target_id,
        section.id == item.section_id,
        section.is_published.is_(False),
    )


def counts_for_completion(kind: ItemKind, target_id: Any) -> ColumnElement[bool]:
    """SQL: the target counts toward completing the course (it is not an optional item)."""
    item = aliased(SectionItem)
    column, _table = ITEM_TARGET_COLUMNS[kind]
    return ~exists().where(getattr(item, column) == target_id, item.is_required.is_(False))


# --- the decision in Python ------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """A prerequisite that is not met yet."""

    item_id: uuid.UUID | None
    section_id: uuid.UUID | None
    min_score_percent: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {
            "item_id": str(self.item_id) if self.item_id else None,
            "section_id": str(self.section_id) if self.section_id else None,
            "min_score_percent": None
            if self.min_score_percent is None
            else str(self.min_score_percent),
        }


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

    def problem(self) -> dict[str, Any]:
        """The locked answer's extra members: each reason, the unlock date."""
        unlock_at = self.unlock_at.isoformat() if self.unlock_at else None
        reasons: list[dict[str, Any]] = []
        for reason in self.reasons:
            entry: dict[str, Any] = {"reason": reason}
            if reason == NOT_YET:
                entry["unlock_at"] = unlock_at
            if reason == PREREQUISITE:
                entry["missing"] = [need.as_json() for need in self.missing]
            reasons.append(entry)
        return {"reasons": reasons, "unlock_at": unlock_at}


NOT_YET, CLOSED, PREREQUISITE = "not_yet_available", "closed", "prerequisite"


class ItemLocked(PermissionDenied):
    code, title = "item_locked", "Item locked"


def _decide(row: Any) -> ItemState:
    state = ItemState(item_id=row.item_id, published=bool(row.published))
    if row.not_yet:
        state.reasons.append(NOT_YET)
        dates = [moment for moment in (row.item_opens_at, row.section_opens_at) if moment]
        state.unlock_at = max(dates) if dates else None
    if row.closed:
        state.reasons.append(CLOSED)
    if row.waiting:
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


@functools.cache
def _course_statements() -> tuple[Select[Any], UnmetSelect]:
    """The outline's two statements (items with their state, unmet prerequisites), built
    once: the rule is many expressions, and building them again for each request cost more
    than running them. `course_id`, `student_id` and `now` are bound at execution."""
    course = bindparam("course_id", type_=SectionItem.id.type)
    student = bindparam("student_id", type_=SectionItem.id.type)
    at = bindparam("now", type_=UTCDateTime())
    done = completions(student, course_id=course).cte("done")
    item, section = aliased(SectionItem), aliased(CourseSection)
    columns = rule(item, section, student_id=student, now=at, done=done)
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
    items = (
        # Columns, not entities: loading 2 ORM objects per item cost more than the statement.
        select(
            item.id.label("item_id"),
            item.kind,
            *(getattr(item, name) for name, _table in ITEM_TARGET_COLUMNS.values()),
            item.is_required,
            section.id.label("section_id"),
            section.title.label("section_title"),
            section.description.label("section_description"),
            *columns.labeled(),
            func.coalesce(progress.c.completed, 0).label("completed"),
            func.coalesce(progress.c.started, 0).label("started"),
            progress.c.percent,
        )
        .join(section, section.id == item.section_id)
        .outerjoin(progress, progress.c.item_id == item.id)
        .where(item.course_id == course)
        .order_by(section.position, section.created_at, item.position, item.created_at)
    )
    return items, _unmet(done, lambda p: p.course_id == course)


def row_target(row: Any) -> uuid.UUID:
    """The target (lesson, quiz or assignment id) of a `course_states` row."""
    target: uuid.UUID = getattr(row, ITEM_TARGET_COLUMNS[ItemKind(row.kind)][0])
    return target


def course_states(
    db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID, now: datetime
) -> tuple[list[Any], dict[uuid.UUID, ItemState]]:
    """Every item of the course (its columns and its section's) with its completion and state
    for the student, in order: one statement for the items (completion computed once, as a
    CTE) and one for the unmet prerequisites, whatever the number of items."""
    items, unmet = _course_statements()
    params = {"course_id": course_id, "student_id": student_id, "now": now}
    rows = db.execute(items, params).all()
    states = {row.item_id: _decide(row) for row in rows}
    if any(PREREQUISITE in state.reasons for state in states.values()):
        by_dependent: dict[Any, list[Requirement]] = {}
        for dependent, need in _requirements(db.execute(unmet, params)):
            by_dependent.setdefault(dependent, []).append(need)
        for row in rows:
            state = states[row.item_id]
            if PREREQUISITE in state.reasons:
                state.missing = [
                    *by_dependent.get(row.section_id, []),
                    *by_dependent.get(row.item_id, []),
                ]
    return list(rows), states


def locked_targets(
    db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID, kind: ItemKind
) -> set[uuid.UUID]:
    """The course's `kind` targets that are locked for the student (for lists)."""
    rows, states = course_states(db, course_id=course_id, student_id=student_id, now=utcnow())
    return {
        row_target(row)
        for row in rows
        if row.kind == kind.value and not states[row.item_id].is_open
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
    row = db.execute(
        select(alias.id.label("item_id"), *columns.labeled())
        .join(section, section.id == alias.section_id)
        .where(alias.id == item.id)
    ).one()
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
