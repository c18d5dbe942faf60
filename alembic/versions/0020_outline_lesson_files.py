"""Files attached to a lesson (downloads follow the lesson's release rule)

Revision ID: 0020_outline_lesson_files
Revises: 0019_lti_items
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_outline_lesson_files"
down_revision: str | None = "0019_lti_items"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploaded_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lesson_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_uploaded_files_lesson_id_lessons"),
            "lessons",
            ["lesson_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_uploaded_files_lesson_id"), ["lesson_id"])


def downgrade() -> None:
    with op.batch_alter_table("uploaded_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploaded_files_lesson_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_uploaded_files_lesson_id_lessons"), type_="foreignkey"
        )
        batch_op.drop_column("lesson_id")
