"""Discussion threads of a course, their posts and followers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ColumnElement, ForeignKey, Index, String, Text, func, literal_column

# Registers PostgreSQL's typed `to_tsvector`: `func.to_tsvector` built before this import
# cannot be compiled for PostgreSQL, whichever module happened to be imported first.
from sqlalchemy.dialects import postgresql  # noqa: F401
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow

# The text search configuration of the full-text indexes (PostgreSQL): no stemming, so any
# language's words match as typed.
SEARCH_CONFIG = "simple"


class ThreadKind(StrEnum):
    DISCUSSION = "discussion"
    QUESTION = "question"


class ItemType(StrEnum):
    LESSON = "lesson"
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"


def search_vector(column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[Any]:
    """The tsvector expression the GIN indexes are built on (a query must repeat it)."""
    return func.to_tsvector(literal_column(f"'{SEARCH_CONFIG}'"), column)


class DiscussionThread(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "discussion_threads"
    __table_args__ = (
        Index("ix_discussion_threads_course_id_last_post_at", "course_id", "last_post_at"),
        Index(
            "ix_discussion_threads_title_search",
            search_vector(literal_column("title")),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default=ThreadKind.DISCUSSION.value)
    title: Mapped[str] = mapped_column(String(200))
    # The lesson, quiz or assignment of the course the thread is about, if any.
    item_type: Mapped[str | None] = mapped_column(String(20))
    item_id: Mapped[uuid.UUID | None]
    is_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The post marked as the answer (question threads show `answered`).
    answer_post_id: Mapped[uuid.UUID | None]
    last_post_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscussionPost(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "discussion_posts"
    __table_args__ = (
        Index("ix_discussion_posts_thread_id_created_at", "thread_id", "created_at"),
        Index(
            "ix_discussion_posts_body_search",
            search_vector(literal_column("body")),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("discussion_threads.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_at: Mapped[datetime | None]


class DiscussionFollower(Base):
    """Who hears of new posts in a thread: its author, whoever replied, and explicit followers
    (an unfollow removes the row; replying again follows again)."""

    __tablename__ = "discussion_followers"

    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("discussion_threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
