"""The `calendar_feed_tokens` and `due_reminders` tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, UUIDPrimaryKey, utcnow


class CalendarFeedToken(UUIDPrimaryKey, Base):
    """A user's secret calendar-feed token, stored only as its SHA-256; one per user, so
    rotating replaces the row and the old URL stops working."""

    __tablename__ = "calendar_feed_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DueReminder(UUIDPrimaryKey, Base):
    """A sent-marker: the unique (kind, item, student) row is claimed before the reminder is
    queued, so each student hears about each due date once however many jobs run."""

    __tablename__ = "due_reminders"
    __table_args__ = (
        UniqueConstraint("kind", "item_id", "student_id", name="uq_due_reminders_item_student"),
    )

    # "assignment" or "quiz": the item is a row of that table.
    kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[uuid.UUID]
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
