"""Course sections, their ordered items and release rules

Revision ID: 0013_sections
Revises: 0012_staff

Every course that has content gets one published default section holding its lessons (in
their order), then its quizzes and assignments (oldest first), so existing courses read and
open exactly as before.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0013_sections"
down_revision: str | None = "0012_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WINDOW_ORDER = (
    "available_until IS NULL OR available_from IS NULL OR available_until > available_from"
)
DAYS_NON_NEGATIVE = "release_after_days IS NULL OR release_after_days >= 0"
ONE_TARGET = (
    "(kind = 'lesson' AND lesson_id IS NOT NULL AND quiz_id IS NULL AND assignment_id IS NULL)"
    " OR (kind = 'quiz' AND quiz_id IS NOT NULL AND lesson_id IS NULL AND assignment_id IS NULL)"
    " OR (kind = 'assignment' AND assignment_id IS NOT NULL AND lesson_id IS NULL"
    " AND quiz_id IS NULL)"
)


def _release_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("available_from", UTCDateTime(timezone=True), nullable=True),
        sa.Column("available_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_after_days", sa.Integer(), nullable=True),
    ]


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "course_sections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        *_release_columns(),
        *_timestamps(),
        sa.CheckConstraint(WINDOW_ORDER, name=op.f("ck_course_sections_window_order")),
        sa.CheckConstraint(DAYS_NON_NEGATIVE, name=op.f("ck_course_sections_days_non_negative")),
        _fk("course_sections", "course_id", "courses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_sections")),
    )
    op.create_index(
        "ix_course_sections_course_id_position", "course_sections", ["course_id", "position"]
    )
    op.create_table(
        "section_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("section_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=True),
        sa.Column("quiz_id", sa.Uuid(), nullable=True),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_required", sa.Boolean(), nullable=False),
        *_release_columns(),
        *_timestamps(),
        sa.CheckConstraint(ONE_TARGET, name=op.f("ck_section_items_one_target")),
        sa.CheckConstraint(WINDOW_ORDER, name=op.f("ck_section_items_window_order")),
        sa.CheckConstraint(DAYS_NON_NEGATIVE, name=op.f("ck_section_items_days_non_negative")),
        _fk("section_items", "section_id", "course_sections"),
        _fk("section_items", "course_id", "courses"),
        _fk("section_items", "lesson_id", "lessons"),
        _fk("section_items", "quiz_id", "quizzes"),
        _fk("section_items", "assignment_id", "assignments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_section_items")),
        sa.UniqueConstraint("lesson_id", name=op.f("uq_section_items_lesson_id")),
        sa.UniqueConstraint("quiz_id", name=op.f("uq_section_items_quiz_id")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_section_items_assignment_id")),
    )
    op.create_index(
        "ix_section_items_section_id_position", "section_items", ["section_id", "position"]
    )
    op.create_index("ix_section_items_course_id", "section_items", ["course_id"])
    op.create_table(
        "release_prerequisites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("section_id", sa.Uuid(), nullable=True),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("required_section_id", sa.Uuid(), nullable=True),
        sa.Column("required_item_id", sa.Uuid(), nullable=True),
        sa.Column("min_score_percent", sa.Numeric(5, 2), nullable=True),
        sa.CheckConstraint(
            "(section_id IS NULL) <> (item_id IS NULL)",
            name=op.f("ck_release_prerequisites_one_dependent"),
        ),
        sa.CheckConstraint(
            "(required_section_id IS NULL) <> (required_item_id IS NULL)",
            name=op.f("ck_release_prerequisites_one_required"),
        ),
        sa.CheckConstraint(
            "min_score_percent IS NULL OR (min_score_percent >= 0 AND min_score_percent <= 100)",
            name=op.f("ck_release_prerequisites_min_score_range"),
        ),
        _fk("release_prerequisites", "course_id", "courses"),
        _fk("release_prerequisites", "section_id", "course_sections"),
        _fk("release_prerequisites", "item_id", "section_items"),
        _fk("release_prerequisites", "required_section_id", "course_sections"),
        _fk("release_prerequisites", "required_item_id", "section_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_prerequisites")),
    )
    for column in ("course_id", "section_id", "item_id"):
        op.create_index(
            f"ix_release_prerequisites_{column}", "release_prerequisites", [column]
        )
    _default_sections()


def _default_sections() -> None:
    """One published section per course with content, holding it in today's order."""
    bind = op.get_bind()
    sections = sa.table(
        "course_sections",
        *(sa.column(name, sa.Uuid()) for name in ("id", "course_id")),
        sa.column("title", sa.String()),
        sa.column("position", sa.Integer()),
        sa.column("is_published", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    items = sa.table(
        "section_items",
        *(sa.column(name, sa.Uuid()) for name in ("id", "section_id", "course_id")),
        sa.column("kind", sa.String()),
        sa.column("position", sa.Integer()),
        *(sa.column(name, sa.Uuid()) for name in ("lesson_id", "quiz_id", "assignment_id")),
        sa.column("is_required", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    content = [
        ("lesson", "lessons", "lesson_id", "order_index, created_at, id"),
        ("quiz", "quizzes", "quiz_id", "created_at, id"),
        ("assignment", "assignments", "assignment_id", "created_at, id"),
    ]
    now = datetime.now(UTC)
    section_of: dict[object, uuid.UUID] = {}
    position: dict[object, int] = {}
    item_rows: list[dict[str, object]] = []
    section_rows: list[dict[str, object]] = []
    for kind, table, column, order in content:
        rows = bind.execute(
            sa.text(f"SELECT id, course_id FROM {table} ORDER BY course_id, {order}")  # noqa: S608
        ).all()
        for target_id, course_id in rows:
            course_key = uuid.UUID(str(course_id))
            if course_key not in section_of:
                section_of[course_key] = uuid.uuid4()
                position[course_key] = 0
                section_rows.append(
                    {
                        "id": section_of[course_key],
                        "course_id": course_key,
                        "title": "Course content",
                        "position": 0,
                        "is_published": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            targets: dict[str, object] = {
                "lesson_id": None,
                "quiz_id": None,
                "assignment_id": None,
            }
            targets[column] = uuid.UUID(str(target_id))
            item_rows.append(
                {
                    "id": uuid.uuid4(),
                    "section_id": section_of[course_key],
                    "course_id": course_key,
                    "kind": kind,
                    "position": position[course_key],
                    "is_required": True,
                    "created_at": now,
                    "updated_at": now,
                    **targets,
                }
            )
            position[course_key] += 1
    if section_rows:
        op.bulk_insert(sections, section_rows)
        op.bulk_insert(items, item_rows)


def downgrade() -> None:
    for column in ("item_id", "section_id", "course_id"):
        op.drop_index(f"ix_release_prerequisites_{column}", table_name="release_prerequisites")
    op.drop_table("release_prerequisites")
    op.drop_index("ix_section_items_course_id", table_name="section_items")
    op.drop_index("ix_section_items_section_id_position", table_name="section_items")
    op.drop_table("section_items")
    op.drop_index("ix_course_sections_course_id_position", table_name="course_sections")
    op.drop_table("course_sections")
