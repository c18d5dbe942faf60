"""users.mfa_secret holds Fernet ciphertext: widen the column and encrypt the stored secrets

Revision ID: 0007
Revises: 0006

Uses the application's own MFA_SECRET_ENCRYPTION_KEYS (or the development key in VAR_DIR), so
run it with the same configuration as the API; downgrading decrypts with those keys.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app.core.security import decrypt_mfa_secret, encrypt_mfa_secret

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as these steps see it, independent of the current model.
users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("mfa_secret", sa.String()))


def _rewrite_secrets(transform: Callable[[str], str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.mfa_secret).where(users.c.mfa_secret.is_not(None))
    ).all()
    if rows:
        connection.execute(
            users.update()
            .where(users.c.id == sa.bindparam("row_id"))
            .values(mfa_secret=sa.bindparam("new_value")),
            [{"row_id": row.id, "new_value": transform(row.mfa_secret)} for row in rows],
        )


def upgrade() -> None:
    # A Fernet token of a 32-character secret is 140 characters; 255 leaves room for longer
    # secrets.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "mfa_secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    _rewrite_secrets(encrypt_mfa_secret)


def downgrade() -> None:
    _rewrite_secrets(lambda ciphertext: decrypt_mfa_secret(ciphertext)[0])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "mfa_secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
