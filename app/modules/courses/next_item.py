"""The learner's next item in a course: the first required item, in course order, that is
open under the release rule, published and not completed, as SQL for the my-courses
statement. The outline picks the same item from the states it has already read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from app.modules.courses import release
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    CourseSection,
    SectionItem,
    target_table,
)


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
