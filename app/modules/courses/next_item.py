"""The learner's next item in a course: the first required item, in course order, that is
open under the release rule, published and not completed. One SQL definition serves the
outline and the my-courses statement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from app.core.database import UTCDateTime
from app.modules.courses import release
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    CourseSection,
    SectionItem,
    target_table,
)
from app.modules.courses.sections_schemas import OutlineNext


def _target_published(item: Any) -> ColumnElement[bool]:
    return or_(
        *(
            and_(
                item.kind == kind.value,
                exists().where(
                    target_table(kind).c.id == getattr(item, column),
                    target_table(kind).c.is_published.is_(True),
                ),
            )
            for kind, (column, _table) in ITEM_TARGET_COLUMNS.items()
        )
    )


def next_item_id(course_id: Any, student_id: Any, now: Any) -> Any:
    """SQL: the id of the student's next item in the course (null: none left)."""
    item, section = aliased(SectionItem), aliased(CourseSection)
    # A CTE: the student's completions are read once per statement, not once per item.
    done = release.completions(student_id).cte("next_item_done")
    columns = release.rule(item, section, student_id=student_id, now=now, done=done)
    completed = exists().where(done.c.item_id == item.id, done.c.completed.is_(True))
    return (
        select(item.id)
        .join(section, section.id == item.section_id)
        .where(
            item.course_id == course_id,
            item.is_required.is_(True),
            columns.is_open,
            ~completed,
            _target_published(item),
        )
        .order_by(section.position, section.created_at, item.position, item.created_at)
        .limit(1)
        .scalar_subquery()
    )


def joined(left: FromClause, item_id: Any) -> tuple[FromClause, list[Any]]:
    """`left` outer-joined with the section item `item_id` (a column of `left` holding a
    `next_item_id`, for an index lookup) and its target, and the columns `next_item_id`,
    `next_item_kind`, `next_item_target_id`, `next_item_title` (all null for no item)."""
    item = aliased(SectionItem)
    source = left.outerjoin(item, item.id == item_id)
    targets, titles = [], []
    for kind, (column, _table) in ITEM_TARGET_COLUMNS.items():
        table = target_table(kind).alias(f"next_{kind.value}")
        source = source.outerjoin(table, table.c.id == getattr(item, column))
        targets.append(getattr(item, column))
        titles.append(table.c.title)
    return source, [
        item.id.label("next_item_id"),
        item.kind.label("next_item_kind"),
        func.coalesce(*targets).label("next_item_target_id"),
        func.coalesce(*titles).label("next_item_title"),
    ]


@release.built_from_rule
def _one_course_statement() -> Any:
    """The next item of one course, built once (the rule is many expressions) and bound per
    call: `course_id`, `student_id`, `now`."""
    found = next_item_id(
        bindparam("course_id", type_=SectionItem.id.type),
        bindparam("student_id", type_=SectionItem.id.type),
        bindparam("now", type_=UTCDateTime()),
    )
    one_row = select(found.label("found")).subquery()
    source, columns = joined(one_row, one_row.c.found)
    return select(*columns).select_from(source)


def of_course(
    db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID, now: datetime
) -> OutlineNext | None:
    """The student's next item in one course."""
    row = db.execute(
        _one_course_statement(), {"course_id": course_id, "student_id": student_id, "now": now}
    ).one()
    return OutlineNext.from_row(row._mapping) if row.next_item_id else None
