"""Notification tables: `notification_sends` (which scheduled email went to whom for which
period), the in-app inbox `notifications` and the per-category `notification_preferences`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, UUIDPrimaryKey, utcnow


class NotificationSend(UUIDPrimaryKey, Base):
    """A sent-marker: the unique (job, user, period) row makes each scheduled email go out
    at most once per period, however often (or concurrently) the job runs."""

    __tablename__ = "notification_sends"
    __table_args__ = (
        UniqueConstraint("job", "user_id", "period", name="uq_notification_sends_job_user_period"),
    )

    job: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The job's period: an ISO week ("2026-W47") or a day ("2026-11-22").
    period: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationCategory(StrEnum):
    """What a notification is about; each category has its own channel preference.
    Security emails (password reset, verification, MFA) have no category: always sent."""

    ANNOUNCEMENTS = "announcements"
    DISCUSSION_REPLIES = "discussion_replies"
    MENTIONS = "mentions"
    DUE_DATE_REMINDERS = "due_date_reminders"
    GRADES = "grades"
    PAYMENTS = "payments"


class Notification(UUIDPrimaryKey, Base):
    """One entry of a user's in-app inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The inbox (newest first) and the unread count read this index only.
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(1000))
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(Base):
    """A user's channels for one category; no row means both channels on."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
