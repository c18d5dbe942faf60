"""Late work shared by quizzes and assignments, per-student extensions, calendar feed tokens
and due-date reminder markers

Revision ID: 0010
Revises: 0009_webhook_claims

Assignments' `allow_late` / `late_penalty_percent` become the shared late policy without
changing what any assignment does: not allowing late work is `refuse`; allowing it with no
penalty is `accept`; a flat penalty P is `penalty` with P per started day capped at P.
Quizzes get the same columns (`accept`, undated). Graded attempts keep their result:
their `final_percentage` is their percentage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from app.core.database import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009_webhook_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LATE_POLICY_CHECKS = (
    ("late_policy_valid", "late_policy IN ('accept', 'penalty', 'refuse')"),
    ("penalty_per_day_range", "penalty_percent_per_day >= 0 AND penalty_percent_per_day <= 100"),
    ("max_penalty_range", "max_penalty_percent >= 0 AND max_penalty_percent <= 100"),
    ("lock_after_due", "lock_at IS NULL OR due_at IS NULL OR lock_at >= due_at"),
)


def _late_work_columns(batch_op: BatchOperations, *, with_due_at: bool) -> None:
    add = batch_op.add_column
    if with_due_at:
        add(sa.Column("due_at", UTCDateTime(timezone=True), nullable=True))
    add(sa.Column("lock_at", UTCDateTime(timezone=True), nullable=True))
    add(sa.Column("late_policy", sa.String(20), nullable=False, server_default="accept"))
    add(sa.Column("penalty_percent_per_day", sa.Numeric(5, 2), nullable=False, server_default="0"))
    add(sa.Column("max_penalty_percent", sa.Numeric(5, 2), nullable=False, server_default="100"))


def _late_work_checks(batch_op: BatchOperations, table: str) -> None:
    for name, condition in LATE_POLICY_CHECKS:
        batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def _extension_table(name: str, item_column: str, item_table: str, unique_name: str) -> None:
    op.create_table(
        name,
        sa.Column(item_column, sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("granted_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["users.id"],
            name=op.f(f"fk_{name}_granted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            [item_column],
            [f"{item_table}.id"],
            name=op.f(f"fk_{name}_{item_column}_{item_table}"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f(f"fk_{name}_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(item_column, "student_id", name=unique_name),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_student_id"), ["student_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "calendar_feed_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feed_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_tokens_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feed_tokens_user_id")),
    )
    op.create_table(
        "due_reminders",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_due_reminders_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_reminders")),
        sa.UniqueConstraint("kind", "item_id", "student_id", name="uq_due_reminders_item_student"),
    )
    with op.batch_alter_table("due_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_due_reminders_student_id"), ["student_id"], unique=False
        )
    _extension_table(
        "assignment_extensions",
        "assignment_id",
        "assignments",
        "uq_assignment_extensions_assignment_student",
    )
    _extension_table("quiz_extensions", "quiz_id", "quizzes", "uq_quiz_extensions_quiz_student")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        _late_work_columns(batch_op, with_due_at=False)
    op.execute(
        "UPDATE assignments SET late_policy = CASE"
        " WHEN NOT allow_late THEN 'refuse'"
        " WHEN late_penalty_percent > 0 THEN 'penalty' ELSE 'accept' END,"
        " penalty_percent_per_day = late_penalty_percent,"
        " max_penalty_percent = CASE WHEN late_penalty_percent > 0"
        " THEN late_penalty_percent ELSE 100 END"
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_assignments_late_penalty_range"), type_="check")
        batch_op.drop_column("late_penalty_percent")
        batch_op.drop_column("allow_late")
        _late_work_checks(batch_op, "assignments")

    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        _late_work_columns(batch_op, with_due_at=True)
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        _late_work_checks(batch_op, "quizzes")

    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("late_penalty_percent", sa.Numeric(5, 2), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("final_percentage", sa.Numeric(5, 2), nullable=True))
    op.execute("UPDATE quiz_attempts SET final_percentage = percentage")


def downgrade() -> None:
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.drop_column("final_percentage")
        batch_op.drop_column("late_penalty_percent")
        batch_op.drop_column("is_late")

    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        for name, _condition in LATE_POLICY_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_quizzes_{name}"), type_="check")
        for column in ("max_penalty_percent", "penalty_percent_per_day", "late_policy"):
            batch_op.drop_column(column)
        batch_op.drop_column("lock_at")
        batch_op.drop_column("due_at")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        for name, _condition in LATE_POLICY_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_assignments_{name}"), type_="check")
        batch_op.add_column(
            sa.Column("allow_late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("late_penalty_percent", sa.Numeric(5, 2), nullable=False, server_default="0")
        )
    # A per-day penalty becomes its cap (the flat penalty of the old model).
    op.execute(
        "UPDATE assignments SET allow_late = (late_policy <> 'refuse'),"
        " late_penalty_percent = CASE WHEN late_policy = 'penalty'"
        " THEN max_penalty_percent ELSE 0 END"
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        for column in ("max_penalty_percent", "penalty_percent_per_day", "late_policy"):
            batch_op.drop_column(column)
        batch_op.drop_column("lock_at")
        batch_op.create_check_constraint(
            op.f("ck_assignments_late_penalty_range"),
            "late_penalty_percent >= 0 AND late_penalty_percent <= 100",
        )

    for name in ("quiz_extensions", "assignment_extensions", "due_reminders"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_student_id"))
        op.drop_table(name)
    op.drop_table("calendar_feed_tokens")
