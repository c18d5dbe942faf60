"""Data exports and the audit of erasures."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class DataExport(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "data_exports"
    __table_args__ = (Index("ix_data_exports_user_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default=ExportStatus.QUEUED.value)
    # Storage key (area `uploads`) of the finished zip.
    storage_key: Mapped[str | None] = mapped_column(String(512))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    failure: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[datetime | None]


class Erasure(UUIDPrimaryKey, Base):
    """Who erased whose personal data, when and why. One per person: erasing again changes
    nothing and answers with this record."""

    __tablename__ = "erasures"

    # No foreign key: the audit outlives anything that may happen to the account row.
    user_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    performed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text)
    # What was removed or anonymized, counted per kind of record.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
