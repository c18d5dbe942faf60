"""Course staff roles, teaching assistants' cohorts and enrollment invitations

Every course's current instructor becomes its owner.

Revision ID: 0012_staff
Revises: 0011_cohorts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0012_staff"
down_revision: str | None = "0011_cohorts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "course_staff",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_staff_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_course_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "user_id", name=op.f("pk_course_staff")),
    )
    op.create_index("ix_course_staff_user_id_course_id", "course_staff", ["user_id", "course_id"])
    op.execute(
        "INSERT INTO course_staff (course_id, user_id, role, added_at) "
        "SELECT id, instructor_id, 'owner', created_at FROM courses"
    )
    op.create_table(
        "cohort_staff",
        sa.Column("cohort_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_cohort_staff_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cohort_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_cohort_staff_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cohort_id", "user_id", name=op.f("pk_cohort_staff")),
    )
    op.create_index(
        "ix_cohort_staff_course_id_user_id", "cohort_staff", ["course_id", "user_id"]
    )
    op.create_table(
        "enrollment_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("cohort_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"],
            name=op.f("fk_enrollment_invitations_course_id_courses"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"],
            name=op.f("fk_enrollment_invitations_cohort_id_cohorts"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"],
            name=op.f("fk_enrollment_invitations_invited_by_id_users"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["users.id"],
            name=op.f("fk_enrollment_invitations_accepted_by_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrollment_invitations_token_hash")),
    )
    op.create_index(
        "ix_enrollment_invitations_course_id_email",
        "enrollment_invitations",
        ["course_id", "email"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_enrollment_invitations_course_id_email", table_name="enrollment_invitations"
    )
    op.drop_table("enrollment_invitations")
    op.drop_index("ix_cohort_staff_course_id_user_id", table_name="cohort_staff")
    op.drop_table("cohort_staff")
    op.drop_index("ix_course_staff_user_id_course_id", table_name="course_staff")
    op.drop_table("course_staff")
