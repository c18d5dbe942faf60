"""OneRoster imports, their refused rows and the sourcedId mapping; data exports and the
erasure audit

Revision ID: 0017_roster
Revises: 0016_lti
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0017_roster"
down_revision: str | None = "0016_lti"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("archive_key", sa.String(512), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("failure", sa.String(500), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_roster_imports_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_imports")),
    )
    op.create_index("ix_roster_imports_created_at", "roster_imports", ["created_at"])
    op.create_table(
        "roster_import_errors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("file", sa.String(40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(255), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["roster_imports.id"],
            name=op.f("fk_roster_import_errors_import_id_roster_imports"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_import_errors")),
    )
    op.create_index(
        "ix_roster_import_errors_import_line", "roster_import_errors", ["import_id", "file", "line"]
    )
    op.create_table(
        "roster_sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("sourced_id", sa.String(255), nullable=False),
        sa.Column("local_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("date_last_modified", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_sources")),
        sa.UniqueConstraint("kind", "sourced_id", name="uq_roster_sources_kind_sourced_id"),
    )
    op.create_index("ix_roster_sources_local_id", "roster_sources", ["local_id"])
    op.create_table(
        "data_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("storage_key", sa.String(512), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("failure", sa.String(500), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_data_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_data_exports_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
    )
    op.create_index(
        "ix_data_exports_user_created_at", "data_exports", ["user_id", "created_at"]
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("performed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["performed_by_id"], ["users.id"], name=op.f("fk_erasures_performed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
        sa.UniqueConstraint("user_id", name=op.f("uq_erasures_user_id")),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_index("ix_data_exports_user_created_at", table_name="data_exports")
    op.drop_table("data_exports")
    op.drop_index("ix_roster_sources_local_id", table_name="roster_sources")
    op.drop_table("roster_sources")
    op.drop_index("ix_roster_import_errors_import_line", table_name="roster_import_errors")
    op.drop_table("roster_import_errors")
    op.drop_index("ix_roster_imports_created_at", table_name="roster_imports")
    op.drop_table("roster_imports")
