"""Open Badges 3.0 credentials: the issuer's signing keys, revocation status lists, and each
certificate's signed credential and status index

Revision ID: 0015_credentials
Revises: 0014_community
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0015_credentials"
down_revision: str | None = "0014_community"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential_signing_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_ciphertext", sa.Text(), nullable=False),
        sa.Column("activated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_credential_signing_keys_kid")),
    )
    op.create_index(
        "ix_credential_signing_keys_activated_at", "credential_signing_keys", ["activated_at"]
    )
    op.create_table(
        "credential_status_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_status_lists")),
    )
    op.create_index(
        "ix_credential_status_lists_purpose_created_at",
        "credential_status_lists",
        ["purpose", "created_at"],
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_jwt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credential_status_list_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("credential_status_index", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_certificates_credential_status_list_id_credential_status_lists"),
            "credential_status_lists",
            ["credential_status_list_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_certificates_credential_status_list_id"),
            ["credential_status_list_id", "credential_status_index"],
        )


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_certificates_credential_status_list_id"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_certificates_credential_status_list_id_credential_status_lists"),
            type_="foreignkey",
        )
        batch_op.drop_column("credential_status_index")
        batch_op.drop_column("credential_status_list_id")
        batch_op.drop_column("credential_jwt")
    op.drop_index(
        "ix_credential_status_lists_purpose_created_at", table_name="credential_status_lists"
    )
    op.drop_table("credential_status_lists")
    op.drop_index(
        "ix_credential_signing_keys_activated_at", table_name="credential_signing_keys"
    )
    op.drop_table("credential_signing_keys")
