"""Cohorts of a course and their members

Revision ID: 0011_cohorts
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0011_cohorts"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at",
            name=op.f("ck_cohorts_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_cohorts_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
    )
    op.create_index("ix_cohorts_course_id_name", "cohorts", ["course_id", "name"])
    op.create_table(
        "cohort_members",
        sa.Column("cohort_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_cohort_members_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["users.id"], name=op.f("fk_cohort_members_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_cohort_members_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cohort_id", "student_id", name=op.f("pk_cohort_members")),
        sa.UniqueConstraint(
            "course_id", "student_id", name=op.f("uq_cohort_members_course_id_student_id")
        ),
    )
    op.create_index("ix_cohort_members_cohort_id", "cohort_members", ["cohort_id"])


def downgrade() -> None:
    op.drop_index("ix_cohort_members_cohort_id", table_name="cohort_members")
    op.drop_table("cohort_members")
    op.drop_index("ix_cohorts_course_id_name", table_name="cohorts")
    op.drop_table("cohorts")
