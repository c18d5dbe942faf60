"""The `uploaded_files` table: metadata of every stored upload."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, Timestamps, UUIDPrimaryKey


class UploadedFile(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "uploaded_files"
    __table_args__ = (
        # "My files", newest first.
        Index("ix_uploaded_files_uploader_created_at", "uploader_id", "created_at"),
        # A public file is served to anyone unchecked; a lesson's file follows its release rule.
        CheckConstraint("lesson_id IS NULL OR NOT is_public", name="lesson_file_not_public"),
    )

    # As the client named it (sanitized); shown to people and used in Content-Disposition.
    original_filename: Mapped[str] = mapped_column(String(255))
    # Generated (`<uuid>.<ext>`): nothing a client sends ever reaches a storage path.
    stored_filename: Mapped[str] = mapped_column(String(64))
    storage_provider: Mapped[str] = mapped_column(String(20))
    storage_path: Mapped[str] = mapped_column(String(512), unique=True)
    folder: Mapped[str | None] = mapped_column(String(100))
    extension: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(127))
    checksum_sha256: Mapped[str] = mapped_column(String(64))
    uploader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Set for course materials: everyone enrolled in the course may download the file.
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    # Set for a lesson's materials (with the lesson's course_id): only those who may open the
    # lesson now (its release rule) download the file. Deleting the lesson leaves the file a
    # course material.
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), index=True
    )
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
