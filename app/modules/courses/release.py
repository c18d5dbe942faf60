"""Who may open which item of a course: the one release rule, written once as SQL expressions.

An item (a lesson, quiz, assignment or LTI link in a section) is open for a student when its
section is published and neither the section nor the item is `not_yet_available` (before
`available_from`, or before `release_after_days` after the learner's start), `closed` (from
`available_until` on) or waiting on a `prerequisite` (an item or section not completed yet).
Content in no section has no rule and is open.

The same expressions serve the Python guard and the batch read of a whole course (`locks.py`:
`require_open`, `course_states` for the outline) and the statements that must hold the rule
themselves (`target_open`, used by the progress heartbeat and my-courses' next item).
Completion of each kind is the kind module's rule, handed down with `register_completion`.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Numeric,
    Select,
    and_,
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
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from app.core.database import UTCDateTime
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    Cohort,
    CohortMember,
    CourseSection,
    Enrollment,
    ItemKind,
    ReleasePrerequisite,
    SectionItem,
    target_table,
)

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
    for forget in _built_from_rule:
        forget()


_Build = typing.TypeVar("_Build", bound=Callable[..., Any])
_built_from_rule: list[Callable[[], None]] = []


def built_from_rule(build: _Build) -> _Build:
    """Cache a statement built from the rule (building it costs more than running it), and
    build it again once a kind's completion is registered."""
    cached = functools.cache(build)
    _built_from_rule.append(cached.cache_clear)
    return typing.cast(_Build, cached)


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


def learner_start(course_id: Any, student_id: Any) -> Any:
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


def later_of(first: Any, second: Any) -> Any:
    """SQL: the later of two nullable times (null only when both are)."""
    return case(
        (first.is_(None), second),
        (second.is_(None), first),
        (second > first, second),
        else_=first,
    )


def release_date(row: Any, anchor: Any) -> Any:
    """SQL: when a section or item (`row`) opens for a learner who started at `anchor`: the
    later of its `available_from` and its relative date; null when it has neither."""
    relative = case(
        (row.release_after_days.is_(None), null()),
        else_=plus_days(anchor, row.release_after_days),
    )
    return later_of(row.available_from, relative)


def _window(row: Any, anchor: Any, now: Any) -> _Window:
    not_yet = or_(
        and_(row.available_from.is_not(None), row.available_from > now),
        and_(
            row.release_after_days.is_not(None),
            or_(anchor.is_(None), plus_days(anchor, row.release_after_days) > now),
        ),
    )
    closed = and_(row.available_until.is_not(None), row.available_until <= now)
    return _Window(opens_at=release_date(row, anchor), not_yet=not_yet, closed=closed)


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


def _waiting(
    dependent: Any, dependent_id: Any, done: FromClause, unmet: FromClause | None
) -> ColumnElement[bool]:
    if unmet is not None:
        # Read once for the statement: a hashed lookup per item, not a subquery per item.
        column = dependent(unmet.c)
        return dependent_id.in_(select(column).where(column.is_not(None)))
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
    unmet: FromClause | None = None,
) -> RuleColumns:
    """The release rule for `item` (an alias of section_items) in `section` (its
    course_sections row), for `student_id` at `now`, with `done` the completion rows,
    `anchor` the learner's start in the course (`learner_start`, computed here if not given)
    and `unmet` the prerequisites not `satisfied` over `done` (rows of release_prerequisites,
    covering the item's and its section's) when the statement reads them once."""
    if anchor is None:
        anchor = learner_start(section.course_id, student_id)
    return RuleColumns(
        published=section.is_published.is_(True),
        item=_window(item, anchor, now),
        section=_window(section, anchor, now),
        item_waiting=_waiting(lambda p: p.item_id, item.id, done, unmet),
        section_waiting=_waiting(lambda p: p.section_id, section.id, done, unmet),
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
    # The start as a subquery, not a joined row: read only for a relative date.
    anchor = select(start.c.at).scalar_subquery()
    columns = rule(item.c, section.c, student_id=student_id, now=now, done=done, anchor=anchor)
    # The section's row is its item's (the join the CTE already made, stated for the linter).
    return ~exists().where(section.c.id == item.c.section_id, ~columns.is_open)


def visible_to_students(kind: ItemKind, target_id: Any) -> ColumnElement[bool]:
    """SQL: the target is not in an unpublished section (what lists show a student)."""
    item, section = aliased(SectionItem), aliased(CourseSection)
    column, _table = ITEM_TARGET_COLUMNS[kind]
    return ~exists().where(
        getattr(item, column) == target_id,
        section.id == item.section_id,
        section.is_published.is_(False),
    )


def shown_to_students(kind: ItemKind, target_id: Any) -> ColumnElement[bool]:
    """SQL: a student may know the target exists (it is published and not in an unpublished
    section), whether or not it is open to them yet."""
    # Aliased: `target_id` may be a column of the same table in the enclosing statement.
    table = target_table(kind).alias()
    return and_(
        exists().where(table.c.id == target_id, table.c.is_published.is_(True)),
        visible_to_students(kind, target_id),
    )


def counts_for_completion(kind: ItemKind, target_id: Any) -> ColumnElement[bool]:
    """SQL: the target counts toward completing the course (it is not an optional item)."""
    item = aliased(SectionItem)
    column, _table = ITEM_TARGET_COLUMNS[kind]
    return ~exists().where(getattr(item, column) == target_id, item.is_required.is_(False))
