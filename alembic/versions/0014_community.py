"""Notification inbox and preferences, announcements, discussions

Revision ID: 0014_community
Revises: 0013_sections
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.database import UTCDateTime

revision: str = "0014_community"
down_revision: str | None = "0013_sections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def _fk(column: str, table: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(1000), nullable=True),
        _time("read_at", nullable=True),
        _time("created_at"),
        _fk("user_id", "notifications", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_user_id_created_at", "notifications", ["user_id", "created_at"]
    )
    op.create_index("ix_notifications_user_id_read_at", "notifications", ["user_id", "read_at"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        _time("updated_at"),
        _fk("user_id", "notification_preferences", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("cohort_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _time("publish_at", nullable=True),
        _time("published_at", nullable=True),
        _time("delivered_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        _fk("course_id", "announcements", "courses", "CASCADE"),
        _fk("author_id", "announcements", "users", "SET NULL"),
        _fk("cohort_id", "announcements", "cohorts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index(
        "ix_announcements_course_id_published_at", "announcements", ["course_id", "published_at"]
    )
    op.create_index("ix_announcements_publish_at", "announcements", ["publish_at"])
    op.create_index("ix_announcements_cohort_id", "announcements", ["cohort_id"])
    op.create_table(
        "announcement_deliveries",
        sa.Column("announcement_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        _time("created_at"),
        _fk("announcement_id", "announcement_deliveries", "announcements", "CASCADE"),
        _fk("recipient_id", "announcement_deliveries", "users", "CASCADE"),
        sa.PrimaryKeyConstraint(
            "announcement_id", "recipient_id", name=op.f("pk_announcement_deliveries")
        ),
    )
    op.create_table(
        "discussion_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("item_type", sa.String(20), nullable=True),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("is_pinned", sa.Boolean(), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column("answer_post_id", sa.Uuid(), nullable=True),
        _time("last_post_at"),
        _time("created_at"),
        _time("updated_at"),
        _fk("course_id", "discussion_threads", "courses", "CASCADE"),
        _fk("author_id", "discussion_threads", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_threads")),
    )
    op.create_index(
        "ix_discussion_threads_course_id_last_post_at",
        "discussion_threads",
        ["course_id", "last_post_at"],
    )
    op.create_table(
        "discussion_posts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        _time("edited_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        _fk("thread_id", "discussion_posts", "discussion_threads", "CASCADE"),
        _fk("author_id", "discussion_posts", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_posts")),
    )
    op.create_index(
        "ix_discussion_posts_thread_id_created_at", "discussion_posts", ["thread_id", "created_at"]
    )
    op.create_index("ix_discussion_posts_author_id", "discussion_posts", ["author_id"])
    op.create_table(
        "discussion_followers",
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        _time("created_at"),
        _fk("thread_id", "discussion_followers", "discussion_threads", "CASCADE"),
        _fk("user_id", "discussion_followers", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_discussion_followers")),
    )
    op.create_index("ix_discussion_followers_user_id", "discussion_followers", ["user_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Full-text search over thread titles and post bodies (SQLite searches with LIKE).
        op.execute(
            "CREATE INDEX ix_discussion_threads_title_search ON discussion_threads "
            "USING gin (to_tsvector('simple', title))"
        )
        op.execute(
            "CREATE INDEX ix_discussion_posts_body_search ON discussion_posts "
            "USING gin (to_tsvector('simple', body))"
        )


def downgrade() -> None:
    op.drop_table("discussion_followers")
    op.drop_table("discussion_posts")
    op.drop_table("discussion_threads")
    op.drop_table("announcement_deliveries")
    op.drop_table("announcements")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
