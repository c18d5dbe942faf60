"""Course announcements and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow


class Announcement(UUIDPrimaryKey, Timestamps, Base):
    """A message of a course's managers to its students (one cohort's, or all of them).

    `publish_at` schedules it; `published_at` is set when it goes out, and
    `delivered_at` once every addressed student has been notified."""

    __tablename__ = "announcements"
    __table_args__ = (
        Index("ix_announcements_course_id_published_at", "course_id", "published_at"),
        # The publishing job looks for scheduled ones not published yet.
        Index("ix_announcements_publish_at", "publish_at"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cohort_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    publish_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class AnnouncementDelivery(Base):
    """One addressed student notified of one announcement. Written in the same transaction
    as the student's notification, and unique: a fan-out that runs again after a crash skips
    whoever already has a row, so nobody is notified twice and nobody is left out."""

    __tablename__ = "announcement_deliveries"

    announcement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
