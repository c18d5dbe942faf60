"""LTI 1.3: tools, deployments, platform keys, resource links, line items, scores, used tokens

Revision ID: 0016_lti
Revises: 0015_credentials
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0016_lti"
down_revision: str | None = "0015_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_platform_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key_ciphertext", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_platform_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_lti_platform_keys_kid")),
    )
    with op.batch_alter_table("lti_platform_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_platform_keys_retired_at"), ["retired_at"], unique=False
        )

    op.create_table(
        "lti_tools",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("oidc_initiation_url", sa.String(length=2000), nullable=False),
        sa.Column("target_link_uri", sa.String(length=2000), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("jwks_url", sa.String(length=2000), nullable=True),
        sa.Column("public_jwk", sa.JSON(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("send_name", sa.Boolean(), nullable=False),
        sa.Column("send_email", sa.Boolean(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_tools")),
        sa.UniqueConstraint("client_id", name=op.f("uq_lti_tools_client_id")),
    )
    op.create_table(
        "lti_used_tokens",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_lti_used_tokens")),
    )
    with op.batch_alter_table("lti_used_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_used_tokens_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "lti_deployments",
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["lti_tools.id"],
            name=op.f("fk_lti_deployments_tool_id_lti_tools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_deployments")),
        sa.UniqueConstraint("tool_id", "deployment_id", name=op.f("uq_lti_deployments_tool_id")),
    )
    op.create_table(
        "lti_resource_links",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lti_resource_links_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["lti_deployments.id"],
            name=op.f("fk_lti_resource_links_deployment_id_lti_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["lti_tools.id"],
            name=op.f("fk_lti_resource_links_tool_id_lti_tools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_resource_links")),
    )
    with op.batch_alter_table("lti_resource_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lti_resource_links_course_id_created_at", ["course_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lti_resource_links_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lti_resource_links_tool_id"), ["tool_id"], unique=False
        )

    op.create_table(
        "lti_line_items",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("resource_link_id", sa.Uuid(), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("score_maximum", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("resource_id", sa.String(length=300), nullable=True),
        sa.Column("tag", sa.String(length=300), nullable=True),
        sa.Column("start_date_time", UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_date_time", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lti_line_items_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_link_id"],
            ["lti_resource_links.id"],
            name=op.f("fk_lti_line_items_resource_link_id_lti_resource_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["lti_tools.id"],
            name=op.f("fk_lti_line_items_tool_id_lti_tools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_line_items")),
    )
    with op.batch_alter_table("lti_line_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lti_line_items_course_id_tool_id", ["course_id", "tool_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lti_line_items_resource_link_id"), ["resource_link_id"], unique=False
        )

    op.create_table(
        "lti_scores",
        sa.Column("line_item_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("score_given", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("score_maximum", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("activity_progress", sa.String(length=20), nullable=False),
        sa.Column("grading_progress", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("timestamp", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["lti_line_items.id"],
            name=op.f("fk_lti_scores_line_item_id_lti_line_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lti_scores_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_scores")),
        sa.UniqueConstraint("line_item_id", "user_id", name=op.f("uq_lti_scores_line_item_id")),
    )
    with op.batch_alter_table("lti_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_scores_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lti_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_scores_user_id"))

    op.drop_table("lti_scores")
    with op.batch_alter_table("lti_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_line_items_resource_link_id"))
        batch_op.drop_index("ix_lti_line_items_course_id_tool_id")

    op.drop_table("lti_line_items")
    with op.batch_alter_table("lti_resource_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_resource_links_tool_id"))
        batch_op.drop_index(batch_op.f("ix_lti_resource_links_deployment_id"))
        batch_op.drop_index("ix_lti_resource_links_course_id_created_at")

    op.drop_table("lti_resource_links")
    op.drop_table("lti_deployments")
    with op.batch_alter_table("lti_used_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_used_tokens_expires_at"))

    op.drop_table("lti_used_tokens")
    op.drop_table("lti_tools")
    with op.batch_alter_table("lti_platform_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_platform_keys_retired_at"))

    op.drop_table("lti_platform_keys")
