"""A lesson's file is never public (its downloads follow the lesson's release rule)

Revision ID: 0022_lesson_files_not_public
Revises: 0021_items_stay_placed
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_lesson_files_not_public"
down_revision: str | None = "0021_items_stay_placed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A public file is served to anyone without a check, so a lesson's file stored as public
    # escaped the lesson's release rule: it becomes private (a lesson's material) first.
    files = sa.table(
        "uploaded_files", sa.column("lesson_id", sa.Uuid()), sa.column("is_public", sa.Boolean())
    )
    op.execute(
        files.update()
        .where(files.c.lesson_id.is_not(None), files.c.is_public.is_(True))
        .values(is_public=False)
    )
    with op.batch_alter_table("uploaded_files", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_uploaded_files_lesson_file_not_public"),
            "lesson_id IS NULL OR NOT is_public",
        )


def downgrade() -> None:
    with op.batch_alter_table("uploaded_files", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_uploaded_files_lesson_file_not_public"), type_="check")
