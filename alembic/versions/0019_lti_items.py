"""LTI links as section items, draft links, and each tool's own ids of its users

Revision ID: 0019_lti_items
Revises: 0018_random_status_indexes

A section item may point at an LTI resource link (`section_items.lti_link_id`); every existing
link is placed at the end of its course's last section (a published default section is made
for a course that has none), so it opens as before. Each (tool, user) pair that already has a
score keeps the `sub` the tool has seen (the user id) in `lti_subjects`; everyone else gets a
random one per tool on first use.
"""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0019_lti_items"
down_revision: str | None = "0018_random_status_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARGETS = {
    "lesson": "lesson_id",
    "quiz": "quiz_id",
    "assignment": "assignment_id",
    "lti": "lti_link_id",
}


def _one_target(targets: dict[str, str]) -> str:
    clauses = []
    for kind, column in targets.items():
        nulls = " AND ".join(f"{other} IS NULL" for other in targets.values() if other != column)
        clauses.append(f"(kind = '{kind}' AND {column} IS NOT NULL AND {nulls})")
    return " OR ".join(clauses)


def _table(name: str, *uuids: str, **others: sa.types.TypeEngine[object]) -> sa.TableClause:
    return sa.table(
        name, *(sa.column(column, sa.Uuid()) for column in uuids), *(
            sa.column(column, type_) for column, type_ in others.items()
        )
    )


_STAMPS = {"created_at": UTCDateTime(timezone=True), "updated_at": UTCDateTime(timezone=True)}


_PREREQUISITES = _table(
    "release_prerequisites",
    "id",
    "course_id",
    "section_id",
    "item_id",
    "required_section_id",
    "required_item_id",
    min_score_percent=sa.Numeric(5, 2),
)


@contextmanager
def _keeping_prerequisites() -> Iterator[None]:
    """SQLite rebuilds `section_items` to change its check, and dropping the old table
    deletes the rows that cascade from it (the item prerequisites): put them back."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    kept = [dict(row._mapping) for row in bind.execute(sa.select(_PREREQUISITES))]
    yield
    bind.execute(sa.delete(_PREREQUISITES))
    if kept:
        bind.execute(_PREREQUISITES.insert(), kept)


def _place_existing_links() -> None:
    bind = op.get_bind()
    links = _table("lti_resource_links", "id", "course_id", **_STAMPS)
    sections = _table(
        "course_sections",
        "id",
        "course_id",
        title=sa.String(),
        position=sa.Integer(),
        is_published=sa.Boolean(),
        **_STAMPS,
    )
    items = _table(
        "section_items",
        "id",
        "section_id",
        "course_id",
        "lti_link_id",
        kind=sa.String(),
        position=sa.Integer(),
        is_required=sa.Boolean(),
        **_STAMPS,
    )
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.select(links.c.id, links.c.course_id).order_by(links.c.created_at, links.c.id)
    ).all()
    for link_id, course_id in rows:
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
                kind="lti",
                lti_link_id=link_id,
                position=position,
                is_required=True,
                created_at=now,
                updated_at=now,
            )
        )


def _keep_known_subs() -> None:
    bind = op.get_bind()
    scores = _table("lti_scores", "line_item_id", "user_id")
    line_items = _table("lti_line_items", "id", "tool_id")
    subjects = _table("lti_subjects", "tool_id", "user_id", sub=sa.String())
    pairs = bind.execute(
        sa.select(line_items.c.tool_id, scores.c.user_id)
        .select_from(scores)
        .join(line_items, line_items.c.id == scores.c.line_item_id)
        .distinct()
    ).all()
    for tool_id, user_id in pairs:
        bind.execute(subjects.insert().values(tool_id=tool_id, user_id=user_id, sub=str(user_id)))


def upgrade() -> None:
    # A plain ADD COLUMN: rebuilding the table on SQLite would cascade away its line items.
    op.add_column(
        "lti_resource_links",
        sa.Column("is_published", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    with _keeping_prerequisites(), op.batch_alter_table("section_items") as batch_op:
        batch_op.add_column(sa.Column("lti_link_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_section_items_lti_link_id_lti_resource_links"),
            "lti_resource_links",
            ["lti_link_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            op.f("uq_section_items_lti_link_id"), ["lti_link_id"]
        )
        batch_op.drop_constraint(op.f("ck_section_items_one_target"), type_="check")
        batch_op.create_check_constraint(op.f("ck_section_items_one_target"), _one_target(TARGETS))
    op.create_table(
        "lti_subjects",
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("sub", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["lti_tools.id"],
            name=op.f("fk_lti_subjects_tool_id_lti_tools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lti_subjects_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tool_id", "user_id", name=op.f("pk_lti_subjects")),
        sa.UniqueConstraint("tool_id", "sub", name=op.f("uq_lti_subjects_tool_id")),
    )
    op.create_index(op.f("ix_lti_subjects_user_id"), "lti_subjects", ["user_id"])
    _place_existing_links()
    _keep_known_subs()


def downgrade() -> None:
    op.drop_index(op.f("ix_lti_subjects_user_id"), table_name="lti_subjects")
    op.drop_table("lti_subjects")
    op.execute("DELETE FROM section_items WHERE kind = 'lti'")
    others = {kind: column for kind, column in TARGETS.items() if kind != "lti"}
    with _keeping_prerequisites(), op.batch_alter_table("section_items") as batch_op:
        batch_op.drop_constraint(op.f("ck_section_items_one_target"), type_="check")
        batch_op.create_check_constraint(op.f("ck_section_items_one_target"), _one_target(others))
        batch_op.drop_constraint(op.f("uq_section_items_lti_link_id"), type_="unique")
        batch_op.drop_constraint(
            op.f("fk_section_items_lti_link_id_lti_resource_links"), type_="foreignkey"
        )
        batch_op.drop_column("lti_link_id")
    # A plain DROP COLUMN (SQLite 3.35+), for the same reason as the ADD COLUMN.
    op.drop_column("lti_resource_links", "is_published")
