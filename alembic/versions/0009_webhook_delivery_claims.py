"""webhook_deliveries: claimed_until (one attempt at a time) and the re-drive job's index

Revision ID: 0009_webhook_claims
Revises: 0008_revoked_access_tokens

Unfinished deliveries get a due time (their creation time when they have none), so the
re-drive job finds every one of them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.database

revision: str = "0009_webhook_claims"
down_revision: str | None = "0008_revoked_access_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = app.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", UTC, nullable=True))
        batch_op.create_index(
            "ix_webhook_deliveries_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )
    deliveries = sa.table(
        "webhook_deliveries",
        sa.column("status", sa.String()),
        sa.column("next_attempt_at", UTC),
        sa.column("created_at", UTC),
    )
    op.execute(
        deliveries.update()
        .where(
            deliveries.c.status.in_(("pending", "retrying")),
            deliveries.c.next_attempt_at.is_(None),
        )
        .values(next_attempt_at=deliveries.c.created_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_status_next_attempt_at")
        batch_op.drop_column("claimed_until")
