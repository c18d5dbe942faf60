"""Status list indexes drawn at random: each list records which indexes are taken

Revision ID: 0018_random_status_indexes
Revises: 0017_roster
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_random_status_indexes"
down_revision: str | None = "0017_roster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

lists = sa.table(
    "credential_status_lists",
    sa.column("id", sa.Uuid()),
    sa.column("length", sa.Integer()),
    sa.column("next_index", sa.Integer()),
    sa.column("allocated_count", sa.Integer()),
    sa.column("allocated", sa.LargeBinary()),
)


def _first_bits(count: int, length: int) -> bytes:
    """A bitstring of `length` bits whose first `count` are set (most significant first)."""
    full, rest = divmod(count, 8)
    head = b"\xff" * full + (bytes([(0xFF00 >> rest) & 0xFF]) if rest else b"")
    return head + bytes(length // 8 - len(head))


def upgrade() -> None:
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocated_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("allocated", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    # Indexes were handed out in order: the first `next_index` of each list are taken.
    for list_id, length, next_index in connection.execute(
        sa.select(lists.c.id, lists.c.length, lists.c.next_index)
    ).all():
        connection.execute(
            lists.update()
            .where(lists.c.id == list_id)
            .values(allocated_count=next_index, allocated=_first_bits(next_index, length))
        )
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.alter_column("allocated_count", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("allocated", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("next_index")


def downgrade() -> None:
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_index", sa.Integer(), nullable=True))
    connection = op.get_bind()
    # Sequential allocation resumes after the highest index taken.
    for list_id, allocated in connection.execute(sa.select(lists.c.id, lists.c.allocated)).all():
        taken = [i for i in range(len(allocated) * 8) if allocated[i // 8] & (0x80 >> (i % 8))]
        connection.execute(
            lists.update()
            .where(lists.c.id == list_id)
            .values(next_index=(max(taken) + 1) if taken else 0)
        )
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.alter_column("next_index", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("allocated")
        batch_op.drop_column("allocated_count")
