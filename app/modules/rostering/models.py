"""Roster imports, the errors of their rows, and the `sourcedId` of every record a roster
created (so a re-import updates it instead of creating it again)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey, utcnow


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class RosterImport(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "roster_imports"
    __table_args__ = (Index("ix_roster_imports_created_at", "created_at"),)

    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.QUEUED.value)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # The storage key of the uploaded zip (area `uploads`), removed once the import ends.
    archive_key: Mapped[str] = mapped_column(String(512))
    # file name -> "bulk" | "delta", as the manifest declares.
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    # "<file>": {"created": n, "updated": n, "deleted": n, "skipped": n}
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failure: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class RosterImportError(UUIDPrimaryKey, Base):
    """A row the import refused, and why; the row's record was left as it was."""

    __tablename__ = "roster_import_errors"
    __table_args__ = (Index("ix_roster_import_errors_import_line", "import_id", "file", "line"),)

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roster_imports.id", ondelete="CASCADE")
    )
    file: Mapped[str] = mapped_column(String(40))
    line: Mapped[int] = mapped_column(Integer)
    sourced_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SourceKind(StrEnum):
    ORG = "org"
    ACADEMIC_SESSION = "academicSession"
    COURSE = "course"
    USER = "user"
    CLASS = "class"
    ENROLLMENT = "enrollment"


class RosterSource(UUIDPrimaryKey, Base):
    """One OneRoster record by its `sourcedId`: the local row it became (users, courses,
    enrollments) or, for records with no local table (orgs, sessions, OneRoster courses),
    the fields classes refer to."""

    __tablename__ = "roster_sources"
    __table_args__ = (
        UniqueConstraint("kind", "sourced_id", name="uq_roster_sources_kind_sourced_id"),
        Index("ix_roster_sources_local_id", "local_id"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    sourced_id: Mapped[str] = mapped_column(String(255))
    local_id: Mapped[uuid.UUID | None]
    # For an enrollment: "student" or "teacher" (what local_id points at differs).
    role: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    date_last_modified: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
