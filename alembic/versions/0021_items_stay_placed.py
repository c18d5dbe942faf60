"""Content outside every section goes back into the structure

Revision ID: 0021_items_stay_placed
Revises: 0020_outline_lesson_files

Setting a section's items used to drop the items it did not list out of the structure: such a
lesson, quiz, assignment or LTI link stayed readable with no release rule, counted towards
completion and was missing from the outline. Every lesson, quiz, assignment and LTI link now
sits in exactly one section; each one found outside them is placed, in its creation order, at
the end of its course's last section (a published default section is made for a course that
has none), as a required item without release conditions.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0021_items_stay_placed"
down_revision: str | None = "0020_outline_lesson_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (kind, table, the section item's column for it)
_TARGETS = (
    ("lesson", "lessons", "lesson_id"),
    ("quiz", "quizzes", "quiz_id"),
    ("assignment", "assignments", "assignment_id"),
    ("lti", "lti_resource_links", "lti_link_id"),
)
_STAMP = UTCDateTime(timezone=True)


def _sections() -> sa.TableClause:
    return sa.table(
        "course_sections",
        sa.column("id", sa.Uuid()),
        sa.column("course_id", sa.Uuid()),
        sa.column("title", sa.String()),
        sa.column("position", sa.Integer()),
        sa.column("is_published", sa.Boolean()),
        sa.column("created_at", _STAMP),
        sa.column("updated_at", _STAMP),
    )


def _items() -> sa.TableClause:
    return sa.table(
        "section_items",
        sa.column("id", sa.Uuid()),
        sa.column("section_id", sa.Uuid()),
        sa.column("course_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("position", sa.Integer()),
        sa.column("is_required", sa.Boolean()),
        sa.column("created_at", _STAMP),
        sa.column("updated_at", _STAMP),
        *(sa.column(column, sa.Uuid()) for _kind, _table, column in _TARGETS),
    )


def _last_section(bind: sa.Connection, course_id: uuid.UUID, now: datetime) -> uuid.UUID:
    sections = _sections()
    section_id = bind.scalar(
        sa.select(sections.c.id)
        .where(sections.c.course_id == course_id)
        .order_by(sections.c.position.desc(), sections.c.created_at.desc())
        .limit(1)
    )
    if section_id is None:
        section_id = uuid.uuid4()
        bind.execute(
            sections.insert().values(
                id=section_id,
                course_id=course_id,
                title="Course content",
                position=0,
                is_published=True,
                created_at=now,
                updated_at=now,
            )
        )
    return section_id


def upgrade() -> None:
    bind = op.get_bind()
    items = _items()
    now = datetime.now(UTC)
    for kind, table_name, column in _TARGETS:
        target = sa.table(
            table_name,
            sa.column("id", sa.Uuid()),
            sa.column("course_id", sa.Uuid()),
            sa.column("created_at", _STAMP),
        )
        orphans = bind.execute(
            sa.select(target.c.id, target.c.course_id)
            .where(~sa.exists().where(items.c[column] == target.c.id))
            .order_by(target.c.created_at, target.c.id)
        ).all()
        for target_id, course_id in orphans:
            section_id = _last_section(bind, course_id, now)
            position = bind.scalar(
                sa.select(sa.func.coalesce(sa.func.max(items.c.position) + 1, 0)).where(
                    items.c.section_id == section_id
                )
            )
            bind.execute(
                items.insert().values(
                    id=uuid.uuid4(),
                    section_id=section_id,
                    course_id=course_id,
                    kind=kind,
                    position=position,
                    is_required=True,
                    created_at=now,
                    updated_at=now,
                    **{column: target_id},
                )
            )


def downgrade() -> None:
    """Nothing to undo: the placed items are ordinary items."""
